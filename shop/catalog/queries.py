"""Catalog reads: the public catalog, supplier-side listings, and the look-ups other domains use.

Object-level authorization: a product that is not public (draft, archived, or its supplier not approved) exists
only for members of its supplier; to anyone else it answers 404, like a missing one.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from shop.catalog import cards, search
from shop.catalog.models import Category, GiRecord, Product, Sku, StockMovement
from shop.errors import NotFound
from shop.extensions import db
from shop.pagination import SortKey, keyset_page, keyset_rows
from shop.suppliers.models import Supplier

SHOP_TIMEZONE = ZoneInfo("Asia/Shanghai")  # "in season" follows the calendar of the shoppers, not the server's


_season_month: ContextVar[int | None] = ContextVar("season_month", default=None)


def current_month() -> int:
    return _season_month.get() or dt.datetime.now(SHOP_TIMEZONE).month


@contextmanager
def season_as_of(moment: dt.datetime):
    """Judge seasons as of another day: loading history (demo orders placed months ago) only. Everything the
    API answers uses today's month."""
    token = _season_month.set(moment.astimezone(SHOP_TIMEZONE).month)
    try:
        yield
    finally:
        _season_month.reset(token)


def supplier_services():
    # Imported late: suppliers.services may import catalog (to re-index products when a supplier is renamed).
    from shop.suppliers import services

    return services


# --- access -------------------------------------------------------------------------------------------------


def public_statuses(product_status: str, supplier_status: str) -> bool:
    return product_status == "active" and supplier_status == "approved"


def is_public(product: Product, supplier: Supplier) -> bool:
    return public_statuses(product.status, supplier.status)


def require_member_of(*, user, supplier_id: int, what: str, action: str = "view") -> Supplier:
    """The supplier when `user` is one of its members with a role allowed `action` (suppliers.roles); a
    non-member gets 404 worded for the object asked for, a member whose role is too low 403 role_required."""
    try:
        return supplier_services().require_member(user=user, supplier_id=supplier_id, action=action)
    except NotFound:
        raise NotFound(f"No such {what}.")


def _may_see_unpublished(user, supplier_id: int) -> bool:
    if user is None:
        return False
    return bool(user.is_platform_admin) or supplier_services().is_member(user=user, supplier_id=supplier_id)


def _full_product_options():
    return (joinedload(Product.supplier).joinedload(Supplier.district), joinedload(Product.origin_district),
            selectinload(Product.skus), selectinload(Product.gi_records))


def load_product(product_id: int) -> Product | None:
    """A product with everything ProductSchema serialises (3 statements at most, whatever the SKU count)."""
    return db.session.scalar(select(Product).where(Product.id == product_id).options(*_full_product_options())
                             .execution_options(populate_existing=True))


def load_sku(sku_id: int) -> Sku | None:
    return db.session.scalar(
        select(Sku).where(Sku.id == sku_id)
        .options(joinedload(Sku.product).joinedload(Product.supplier), joinedload(Sku.product)
                 .joinedload(Product.origin_district))
        .execution_options(populate_existing=True))


# --- categories ---------------------------------------------------------------------------------------------


def list_categories() -> list[dict]:
    """The whole tree, roots first, siblings by position (one statement; the tree is small)."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    nodes = {c.id: {"id": c.id, "parent_id": c.parent_id, "name": c.name, "slug": c.slug, "path": c.path,
                    "position": c.position, "children": []} for c in categories}
    roots = []
    for category in categories:
        node = nodes[category.id]
        (nodes[category.parent_id]["children"] if category.parent_id in nodes else roots).append(node)
    return roots


def product_names(*, product_ids) -> dict[int, str]:
    """id → name of several products in one query, whatever their status (statistics label past sales)."""
    ids = set(product_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Product.id, Product.name).where(Product.id.in_(ids))).all())


def category_exists(category_id: int) -> bool:
    return db.session.get(Category, category_id) is not None


# --- the public catalog -------------------------------------------------------------------------------------

# Every sort ends on the id, which makes the order total and the keyset cursor exact.
_ID_DESC = SortKey(Product.id, lambda p: p.id, descending=True)
SORT_KEYS = {
    "newest": [_ID_DESC],
    "price_asc": [SortKey(Product.min_price_fen, lambda p: p.min_price_fen), SortKey(Product.id, lambda p: p.id)],
    "price_desc": [SortKey(Product.min_price_fen, lambda p: p.min_price_fen, descending=True), _ID_DESC],
    "best_selling": [SortKey(Product.sales_count, lambda p: p.sales_count, descending=True), _ID_DESC],
}


def _in_category_tree(category_id: int):
    """The category and its descendants: one prefix match on the materialised path, inside the same statement."""
    root_path = select(Category.path).where(Category.id == category_id).scalar_subquery()
    return Product.category_id.in_(select(Category.id).where(Category.path.startswith(root_path)))


def list_public_products(*, limit: int, cursor: str | None, sort: str = "newest", category: int | None = None,
                         origin_district: str | None = None, supplier_id: int | None = None, gi_only: bool = False,
                         in_season: bool = False, in_stock: bool = False, min_price_fen: int | None = None,
                         max_price_fen: int | None = None, cold_chain: bool | None = None, q: str | None = None):
    """Cards (catalog.cards) of active products of approved suppliers; one SQL statement (the page's columns and
    its GI records) whatever the page size and filters."""
    stmt = cards.card_select().where(Product.status == "active", Supplier.status == "approved")
    if category is not None:
        stmt = stmt.where(_in_category_tree(category))
    if origin_district:
        stmt = stmt.where(Product.origin_district_code == origin_district)
    if supplier_id is not None:
        stmt = stmt.where(Product.supplier_id == supplier_id)
    if gi_only:
        stmt = stmt.where(exists().where(GiRecord.product_id == Product.id, GiRecord.status == "verified"))
    if in_season:
        stmt = stmt.where(Product.sale_months_mask.op("&")(1 << (current_month() - 1)) != 0)
    if in_stock:
        stmt = stmt.where(exists().where(Sku.product_id == Product.id, Sku.is_active.is_(True), Sku.stock > 0))
    if min_price_fen is not None:
        stmt = stmt.where(Product.min_price_fen >= min_price_fen)
    if max_price_fen is not None:
        stmt = stmt.where(Product.min_price_fen <= max_price_fen)
    if cold_chain is not None:
        stmt = stmt.where(Product.cold_chain.is_(cold_chain))
    keys = SORT_KEYS[sort]
    needle = search.query_needle(q)
    if needle:
        stmt = stmt.where(search.matches(needle, db.engine.dialect.name))
        keys = [SortKey(search.rank(needle), lambda p: search.rank_of(p, needle))] + keys
    page = keyset_rows(db.session, stmt, keys=keys, limit=limit, cursor=cursor, outer=cards.with_gi_records)
    month = current_month()
    return {**page, "items": [cards.card(row, month=month) for row in page["items"]]}


def product_page(*, product_id: int, user=None) -> dict:
    """The public product page (catalog.cards.detail): SKUs, supplier, origin district and the regions supporting
    that district; 404 unless public or the user may see it unpublished."""
    row = cards.detail_row(product_id)
    if row is None or not (public_statuses(row.status, row.supplier_status)
                           or _may_see_unpublished(user, row.supplier_id)):
        raise NotFound("No such product.")
    return cards.detail(row, month=current_month())


def get_product(*, product_id: int, user=None) -> Product:
    """The product entity with SKUs, supplier and origin district, under the product page's access rule."""
    product = load_product(product_id)
    if product is None or not (is_public(product, product.supplier)
                               or _may_see_unpublished(user, product.supplier_id)):
        raise NotFound("No such product.")
    return product


def get_sku(*, sku_id: int, user=None) -> Sku:
    sku = load_sku(sku_id)
    if sku is None or not (is_public(sku.product, sku.product.supplier)
                           or _may_see_unpublished(user, sku.product.supplier_id)):
        raise NotFound("No such SKU.")
    return sku


# --- supplier side ------------------------------------------------------------------------------------------


def list_supplier_products(*, user, supplier_id: int, status: str | None = None, limit: int, cursor: str | None):
    """All of a supplier's products, any status, for its members (newest first)."""
    require_member_of(user=user, supplier_id=supplier_id, what="supplier")
    stmt = select(Product).where(Product.supplier_id == supplier_id).options(*_full_product_options())
    if status:
        stmt = stmt.where(Product.status == status)
    return keyset_page(db.session, stmt, keys=[_ID_DESC], limit=limit, cursor=cursor)


def member_sku(*, user, sku_id: int, action: str = "view") -> Sku:
    """A SKU of one of the user's suppliers (product and supplier loaded), else 404; 403 when the member's role
    does not allow `action`."""
    sku = load_sku(sku_id)
    if sku is None:
        raise NotFound("No such SKU.")
    require_member_of(user=user, supplier_id=sku.product.supplier_id, what="SKU", action=action)
    return sku


def list_stock_movements(*, user, sku_id: int, limit: int, cursor: str | None):
    member_sku(user=user, sku_id=sku_id)
    stmt = select(StockMovement).where(StockMovement.sku_id == sku_id)
    return keyset_page(db.session, stmt, keys=[SortKey(StockMovement.id, lambda m: m.id, descending=True)],
                       limit=limit, cursor=cursor)


# --- for cart and checkout ----------------------------------------------------------------------------------


def get_skus_for_pricing(*, sku_ids) -> dict[int, Sku]:
    """SKUs with their product, supplier and origin district loaded, in one statement, keyed by id. Missing ids
    are simply absent; check each with sellable_problem() before pricing a line."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Sku).where(Sku.id.in_(ids))
        .options(joinedload(Sku.product).joinedload(Product.supplier), joinedload(Sku.product)
                 .joinedload(Product.origin_district)))
    return {sku.id: sku for sku in rows}


def get_sku_for_pricing(*, sku_id: int) -> Sku:
    """One sellable SKU with product and supplier loaded, or 404 (not sellable reads as missing)."""
    sku = get_skus_for_pricing(sku_ids=[sku_id]).get(sku_id)
    if sku is None or sellable_problem(sku):
        raise NotFound("No such SKU.")
    return sku


def out_of_season(product: Product) -> bool:
    """Outside its sale months in the shop's calendar: not bought now (pre-sale campaigns sell ahead)."""
    return not product.in_season(current_month())


def season_of(product: Product) -> dict:
    month = current_month()
    return {"in_season": product.in_season(month), "on_sale_again_month": product.on_sale_again_month(month)}


def sellable_problem(sku: Sku) -> str | None:
    """Why this SKU cannot be bought now, or None. Needs sku.product.supplier loaded."""
    if not sku.is_active:
        return "This option is no longer sold."
    if not is_public(sku.product, sku.product.supplier):
        return "This product is not on sale."
    return None
