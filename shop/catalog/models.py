from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db
from shop.regions.models import Region
from shop.suppliers.models import Supplier

PRODUCT_TYPES = ("raw_produce", "prepackaged", "seller_processed", "tcm_decoction")
PRODUCT_STATUSES = ("draft", "active", "archived")
# 地理标志: 地理标志证明商标 (trademark office), 地理标志保护产品 (quality inspection, now CNIPA),
# 农产品地理标志 (agriculture ministry). One product may hold several (奉节脐橙 holds all three).
GI_SCHEMES = ("gi_trademark", "gi_protected_product", "agricultural_gi")
GI_STATUSES = ("claimed", "verified", "rejected")
# 七日无理由退货: eligible; always excluded (fresh / custom); excluded only with the buyer's confirmation.
RETURN_POLICIES = ("seven_day", "excluded_fresh", "excluded_custom", "excluded_with_confirmation")
PRODUCT_TRANSITIONS = {"draft": {"active", "archived"}, "active": {"archived"}, "archived": {"active"}}
ALL_MONTHS_MASK = (1 << 12) - 1


def months_to_mask(months: list[int]) -> int:
    mask = 0
    for month in months:
        mask |= 1 << (month - 1)
    return mask


def mask_to_months(mask: int) -> list[int]:
    return [m for m in range(1, 13) if mask & (1 << (m - 1))]


def on_sale_again_month_of(mask: int, month: int) -> int | None:
    """The next month (1-12) a sale-months mask is on sale from, or None when on sale in `month` or never."""
    if mask & (1 << (month - 1)):
        return None
    for ahead in range(1, 12):
        candidate = (month - 1 + ahead) % 12 + 1
        if mask & (1 << (candidate - 1)):
            return candidate
    return None


class Category(db.Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    # Materialised path "/1/5/": a category and its descendants are one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), index=True, default="/")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_public_newest", "status", "id"),
        # Keyset sorts of the public list (price_asc/desc, best_selling) and the supplier-side listing.
        Index("ix_product_public_price", "status", "min_price_fen", "id"),
        Index("ix_product_public_best_selling", "status", "sales_count", "id"),
        Index("ix_product_supplier_newest", "supplier_id", "id"),
        CheckConstraint("sale_months_mask >= 0 AND sale_months_mask <= 4095", name="sale_months_mask_range"),
        # The supplier's own product code (catalog import's product_ref): one product per code and supplier.
        UniqueConstraint("supplier_id", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    origin_district_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    external_ref: Mapped[str | None] = mapped_column(String(64))  # the supplier's product code; None if never imported
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    product_type: Mapped[str] = mapped_column(string_enum(*PRODUCT_TYPES, name="product_type"))
    sc_license_number: Mapped[str | None] = mapped_column(String(16))
    food_filing_number: Mapped[str | None] = mapped_column(String(64))
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    storage: Mapped[str] = mapped_column(String(120), default="")
    cold_chain: Mapped[bool] = mapped_column(default=False)
    sale_months_mask: Mapped[int] = mapped_column(Integer, default=ALL_MONTHS_MASK)  # bit m-1 = on sale in month m
    return_policy: Mapped[str] = mapped_column(string_enum(*RETURN_POLICIES, name="return_policy"))
    images: Mapped[list] = mapped_column(JSON, default=list)  # ordered URLs
    status: Mapped[str] = mapped_column(string_enum(*PRODUCT_STATUSES, name="product_status"), default="draft",
                                        index=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # Denormalised for list sorts without joins, kept up to date by catalog services. Stock is not copied
    # here: checkout updates SKU rows only, so a product row never becomes a hot spot.
    min_price_fen: Mapped[int] = mapped_column(Integer, default=0, index=True)
    sales_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # Normalised search text (lower-case, Chinese + full pinyin + initials); see catalog.search.
    search_name: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The two-character Chinese pieces of search_text: most Chinese words are two characters, which pg_trgm
    # cannot index, so on PostgreSQL a GIN index over these serves them (jsonb @>). Unused on SQLite.
    search_grams: Mapped[list] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    supplier: Mapped[Supplier] = relationship(lazy="raise")
    category: Mapped[Category] = relationship(lazy="raise")
    origin_district: Mapped[Region] = relationship(lazy="raise")
    skus: Mapped[list["Sku"]] = relationship(back_populates="product", lazy="raise", order_by="Sku.id")
    gi_records: Mapped[list["GiRecord"]] = relationship(back_populates="product", lazy="raise",
                                                        order_by="GiRecord.id", cascade="all, delete-orphan")

    @property
    def sale_months(self) -> list[int]:
        return mask_to_months(self.sale_months_mask)

    def in_season(self, month: int) -> bool:
        return bool(self.sale_months_mask & (1 << (month - 1)))

    def on_sale_again_month(self, month: int) -> int | None:
        """The next month (1-12) it is on sale from, or None when on sale now or never."""
        return on_sale_again_month_of(self.sale_months_mask, month)

    @property
    def has_verified_gi(self) -> bool:
        return any(record.status == "verified" for record in self.gi_records)

    def can_move_to(self, status: str) -> bool:
        return status in PRODUCT_TRANSITIONS.get(self.status, set())


class Sku(db.Model):
    __tablename__ = "sku"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("qty_step >= 1 AND min_order_qty >= 1", name="quantities_positive"),
        # The in_stock filter (EXISTS an active SKU with stock) and the min-price refresh.
        Index("ix_sku_product_active_stock", "product_id", "is_active", "stock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    spec: Mapped[str] = mapped_column(String(80))  # e.g. 5斤装 特级果
    unit: Mapped[str] = mapped_column(String(16), default="件")
    weight_g: Mapped[int] = mapped_column(Integer)
    price_fen: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    min_order_qty: Mapped[int] = mapped_column(Integer, default=1)
    qty_step: Mapped[int] = mapped_column(Integer, default=1)  # case size: quantities are multiples of it
    # Institutional volume prices: [{"min_qty": int, "price_fen": int}], ascending quantities, non-increasing prices.
    price_tiers: Mapped[list] = mapped_column(JSON, default=list)
    barcode: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="skus", lazy="raise")

    def unit_price_for(self, quantity: int) -> int:
        """The price per unit for a quantity, volume tiers included."""
        price = self.price_fen
        for tier in self.price_tiers or []:
            if quantity >= tier["min_qty"]:
                price = min(price, tier["price_fen"])
        return price

    def quantity_problem(self, quantity: int) -> str | None:
        if quantity < self.min_order_qty:
            return f"At least {self.min_order_qty} {self.unit}."
        if quantity % self.qty_step:
            return f"Order in multiples of {self.qty_step} {self.unit}."
        return None


STOCK_REASONS = ("adjustment", "stocktake", "import", "damage", "order_reserved", "order_released",
                 "refund_restock")


class StockMovement(db.Model):
    """Every change of a SKU's stock, with why and by whom: the stock history."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_sku_history", "sku_id", "id"),)  # a SKU's history, newest first

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(string_enum(*STOCK_REASONS, name="stock_reason"))
    note: Mapped[str] = mapped_column(String(255), default="")
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: catalog must not depend on orders
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Substring search (LIKE '%…%') over 100k products: trigram GIN indexes on PostgreSQL, an FTS5 table on SQLite
# (below). Kept out of the model's Index list because neither is an index type the other database has.
TRIGRAM_INDEX_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_product_search_text_trgm ON product USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_product_search_name_trgm ON product USING gin (search_name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_product_search_grams ON product USING gin (search_grams jsonb_path_ops)",
)
for _statement in TRIGRAM_INDEX_DDL:
    event.listen(Product.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


class GiRecord(db.Model):
    """A supplier's claim that a product is covered by one GI scheme, until an operator verifies (or rejects)
    it against the registry. Buyers see claimed and verified apart."""

    __tablename__ = "gi_record"
    __table_args__ = (
        UniqueConstraint("product_id", "scheme"),
        CheckConstraint("harvest_months_mask >= 0 AND harvest_months_mask <= 4095", name="harvest_months_mask_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    scheme: Mapped[str] = mapped_column(string_enum(*GI_SCHEMES, name="gi_scheme"))
    number: Mapped[str] = mapped_column(String(64))
    protected_area: Mapped[str] = mapped_column(String(255))
    harvest_months_mask: Mapped[int] = mapped_column(Integer, default=0)  # 0 = not stated
    status: Mapped[str] = mapped_column(string_enum(*GI_STATUSES, name="gi_status"), default="claimed")
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="gi_records", lazy="raise")

    @property
    def harvest_months(self) -> list[int]:
        return mask_to_months(self.harvest_months_mask)


# SQLite: an FTS5 trigram index of search_text, which catalog.search.matches() uses to find the candidate rows
# instead of scanning product (its LIKE then decides, as on PostgreSQL). Contentless (content=''): it only has to
# yield product ids. Each text is indexed with two trailing spaces, so every character of it starts a full
# trigram, and a 1- or 2-character needle is found through the trigrams it begins (read from the vocabulary
# table, product_search_terms). case_sensitive 1: search_text is lower-case already, so this is exact.
# Triggers keep it in step with every write, ORM or Core; a contentless 'delete' must repeat exactly the text
# that was indexed, which OLD.search_text is. A later migration that rebuilds the product table on SQLite
# (batch_alter_table's copy) drops the triggers with the old table: it must run SQLITE_SEARCH_TRIGGERS again
# (tests/test_migrations.py writes after upgrading to the head and would find the index behind).
_INDEXED = "{row}.search_text || '  '"
SQLITE_SEARCH_TRIGGERS = (
    "CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN "
    f"INSERT INTO product_search (rowid, search_text) VALUES (new.id, {_INDEXED.format(row='new')}); END",
    "CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN "
    "INSERT INTO product_search (product_search, rowid, search_text) "
    f"VALUES ('delete', old.id, {_INDEXED.format(row='old')}); END",
    "CREATE TRIGGER product_search_update AFTER UPDATE OF id, search_text ON product BEGIN "
    "INSERT INTO product_search (product_search, rowid, search_text) "
    f"VALUES ('delete', old.id, {_INDEXED.format(row='old')}); "
    f"INSERT INTO product_search (rowid, search_text) VALUES (new.id, {_INDEXED.format(row='new')}); END",
)
SQLITE_SEARCH_INDEX_DDL = (
    "CREATE VIRTUAL TABLE product_search USING fts5(search_text, content='', "
    "tokenize='trigram case_sensitive 1')",
    "CREATE VIRTUAL TABLE product_search_terms USING fts5vocab(product_search, 'row')",
    *SQLITE_SEARCH_TRIGGERS,
)
# The products already there (a migration's backfill).
SQLITE_SEARCH_INDEX_FILL = ("INSERT INTO product_search (rowid, search_text) "
                            f"SELECT id, {_INDEXED.format(row='product')} FROM product")
SQLITE_SEARCH_INDEX_DROP = (
    "DROP TRIGGER IF EXISTS product_search_update", "DROP TRIGGER IF EXISTS product_search_delete",
    "DROP TRIGGER IF EXISTS product_search_insert", "DROP TABLE IF EXISTS product_search_terms",
    "DROP TABLE IF EXISTS product_search",
)
for _statement in SQLITE_SEARCH_INDEX_DDL:
    event.listen(Product.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
# drop_all does not know the virtual tables: without this a second create_all would find them there.
for _statement in SQLITE_SEARCH_INDEX_DROP:
    event.listen(Product.__table__, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
