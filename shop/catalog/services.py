"""Catalog verbs for supplier members: products, SKUs, stock. Each verb is one unit of work (shop.transaction).

Only members (owner or staff) of a product's supplier may change it; another supplier's product, SKU or
stock answers 404. Derived columns (product.min_price_fen, search_name, search_text) are refreshed in the
same transaction as the change that affects them.
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from shop.catalog import gi, search, stock
from shop.catalog.models import Product, Sku, months_to_mask
from shop.catalog.queries import (category_exists, load_product, load_sku, member_sku, require_member_of,
                                  supplier_services)
from shop.database import utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.regions.models import Region
from shop.suppliers.models import Supplier
from shop.suppliers.signals import supplier_renamed
from shop.transaction import transaction

GI_FIELDS = ("gi_scheme", "gi_number", "gi_protected_area")
# Which licence field each product type needs to be sold online. Raw farm produce (食用农产品) needs none.
# TCM decoction pieces are drugs and really need a drug production licence (药品生产许可证); checking that is
# out of scope here: we only require the SC-format production licence number the platform records.
LICENCE_FIELD = {"prepackaged": "food_filing_number", "seller_processed": "sc_license_number",
                 "tcm_decoction": "sc_license_number"}
PRODUCT_FIELDS = ("name", "subtitle", "description", "category_id", "origin_district_code", "product_type",
                  "sc_license_number", "food_filing_number", "shelf_life_days", "storage", "cold_chain", "return_policy", "images")
SKU_FIELDS = ("spec", "unit", "weight_g", "price_fen", "min_order_qty", "qty_step", "price_tiers", "barcode",
              "is_active")
PRICE_FIELDS = ("price_fen", "price_tiers")  # changing these on an existing SKU needs the set_prices action


class IllegalProductTransition(Conflict):
    code = "illegal_product_transition"
    title = "Illegal product status change"


class NoSku(Conflict):
    code = "no_sku"
    title = "The product has no active SKU"


# --- rules --------------------------------------------------------------------------------------------------


SKU_DEFAULTS = {"unit": "件", "min_order_qty": 1, "qty_step": 1, "price_tiers": [], "barcode": None, "is_active": True}


def check_product(values: dict) -> None:
    """Rules across fields, on the merged values (before anything is written): a GI record is all or none;
    the product type's licence is present."""
    errors: dict[str, list[str]] = {}
    present = [f for f in GI_FIELDS if values.get(f)]
    if present and len(present) < len(GI_FIELDS):
        for field in GI_FIELDS:
            if field not in present:
                errors[field] = ["Required: a GI record has gi_scheme, gi_number and gi_protected_area, or none."]
    needed = LICENCE_FIELD.get(values.get("product_type"))
    if needed and not values.get(needed):
        errors[needed] = [f"Required for product_type {values['product_type']}."]
    if errors:
        raise ValidationFailed(f"Missing: {', '.join(sorted(errors))}.", errors=errors)


def sku_problems(values: dict) -> dict:
    """Field errors of a SKU's merged values: MOQ a multiple of the step; volume tiers ascending in quantity,
    never rising in price, each below the base price. Empty when valid."""
    errors: dict = {}
    if values["min_order_qty"] % values["qty_step"]:
        errors["min_order_qty"] = [f"Must be a multiple of qty_step ({values['qty_step']})."]
    tier_errors = {}
    tiers = values.get("price_tiers") or []
    for i, tier in enumerate(tiers):
        problems = []
        if tier["price_fen"] >= values["price_fen"]:
            problems.append("price_fen must be below the base price_fen.")
        if i and tier["min_qty"] <= tiers[i - 1]["min_qty"]:
            problems.append("min_qty must rise from tier to tier.")
        if i and tier["price_fen"] > tiers[i - 1]["price_fen"]:
            problems.append("price_fen must not rise for a larger quantity.")
        if problems:
            tier_errors[str(i)] = problems
    if tier_errors:
        errors["price_tiers"] = tier_errors
    return errors


def _sku_values(data: dict, current: Sku | None = None) -> dict:
    base = {f: getattr(current, f) for f in SKU_FIELDS} if current is not None else dict(SKU_DEFAULTS)
    return base | {k: v for k, v in data.items() if k in SKU_FIELDS}


def _check_sku(values: dict) -> None:
    errors = sku_problems(values)
    if errors:
        raise ValidationFailed("Invalid SKU.", errors=errors)


def _district(code: str, *, field: str = "origin_district_code") -> Region:
    from shop.regions.services import get_region

    return get_region(code=code, field=field, reservoir_only=True)


def _check_category(category_id: int) -> None:
    if not category_exists(category_id):
        raise ValidationFailed("Unknown category.", code="invalid_category",
                               errors={"category_id": ["Unknown category."]})


def refresh_min_price(product: Product) -> None:
    """The cheapest active SKU's price, 0 when none is active (then the product cannot be public). Runs in the
    caller's transaction (the demo loader calls it too)."""
    db.session.flush()
    product.min_price_fen = db.session.scalar(
        select(func.min(Sku.price_fen)).where(Sku.product_id == product.id, Sku.is_active.is_(True))) or 0


# --- products -----------------------------------------------------------------------------------------------


def create_product(*, user, supplier_id: int, skus: list[dict] = (), sale_months: list[int] | None = None,
                   external_ref: str | None = None, **fields) -> Product:
    """A draft product (with optional SKUs) of a supplier the user is a member of."""
    with transaction():
        product = insert_product(user=user, supplier_id=supplier_id, skus=skus, sale_months=sale_months,
                                 external_ref=external_ref, **fields)
    return load_product(product.id)


def insert_product(*, user, supplier_id: int, skus: list[dict] = (), sale_months: list[int] | None = None,
                   external_ref: str | None = None, **fields) -> Product:
    """create_product's work in the caller's transaction (does not commit): the row as flushed, SKUs and stock
    history included (the all-or-nothing catalog import creates every product in one unit this way)."""
    supplier = require_member_of(user=user, supplier_id=supplier_id, what="supplier", action="edit_listings")
    _check_category(fields["category_id"])
    district = _district(fields["origin_district_code"])
    values = {k: v for k, v in fields.items() if k in PRODUCT_FIELDS}
    check_product(values | fields)
    sku_errors = {str(i): problems for i, data in enumerate(skus) if (problems := sku_problems(_sku_values(data)))}
    if sku_errors:
        raise ValidationFailed("Invalid SKU.", errors={"skus": sku_errors})
    product = Product(supplier_id=supplier.id, status="draft", external_ref=external_ref, **values)
    if sale_months is not None:
        product.sale_months_mask = months_to_mask(sale_months)
    search.reindex(product, supplier_name=supplier.name, district_name=district.name)
    db.session.add(product)
    db.session.flush()
    for data in skus:
        _add_sku(product, data, actor_id=user.id)
    _claim_inline_gi(product, fields)
    refresh_min_price(product)
    return product


def _claim_inline_gi(product: Product, fields: dict) -> None:
    """gi_scheme/gi_number/gi_protected_area on a product (form or spreadsheet row) claim one GI record;
    several records and harvest months go through the GI records API."""
    if fields.get("gi_scheme"):
        gi.claim_in_unit(product, scheme=fields["gi_scheme"], number=fields["gi_number"],
                         protected_area=fields["gi_protected_area"])


def _member_product(*, user, product_id: int):
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    return product, require_member_of(user=user, supplier_id=product.supplier_id, what="product",
                                      action="edit_listings")


def update_product(*, user, product_id: int, changes: dict) -> Product:
    with transaction():
        product, supplier = _member_product(user=user, product_id=product_id)
        if "category_id" in changes:
            _check_category(changes["category_id"])
        district = _district(changes.get("origin_district_code", product.origin_district_code))
        updates = {k: v for k, v in changes.items() if k in PRODUCT_FIELDS}
        cleared = [f for f in GI_FIELDS if f in changes and changes[f] is None]
        if cleared:
            raise ValidationFailed("A GI claim is withdrawn with DELETE /api/v1/gi-records/{id}.",
                                   code="gi_withdraw_by_record", errors={f: ["Cannot be null here."] for f in cleared})
        check_product({f: getattr(product, f) for f in PRODUCT_FIELDS} | changes)
        for field, value in updates.items():
            setattr(product, field, value)
        if "sale_months" in changes:
            product.sale_months_mask = months_to_mask(changes["sale_months"])
        _claim_inline_gi(product, changes)
        search.reindex(product, supplier_name=supplier.name, district_name=district.name)
    return load_product(product_id)


def _move(product: Product, to: str, **values) -> None:
    """Compare-and-set on the status, so two concurrent moves cannot both win."""
    if not product.can_move_to(to):
        raise IllegalProductTransition(f"A {product.status} product cannot become {to}.")
    result = db.session.execute(update(Product).where(Product.id == product.id, Product.status == product.status)
                                .values(status=to, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise IllegalProductTransition("The product's status changed meanwhile; reload it.")


def publish_product(*, user, product_id: int) -> Product:
    """draft | archived → active. The supplier must be approved and the product must have an active SKU."""
    with transaction():
        product, supplier = _member_product(user=user, product_id=product_id)
        if not product.can_move_to("active"):
            raise IllegalProductTransition(f"A {product.status} product cannot be published.")
        supplier_services().ensure_can_publish(supplier=supplier)
        has_sku = db.session.scalar(select(func.count()).select_from(Sku).where(Sku.product_id == product.id,
                                                                                 Sku.is_active.is_(True)))
        if not has_sku:
            raise NoSku("Add an active SKU (spec and price) before publishing.")
        _move(product, "active", published_at=utcnow())
    return load_product(product_id)


def archive_product(*, user, product_id: int) -> Product:
    """draft | active → archived: off the public catalog, kept for past orders."""
    with transaction():
        product, _supplier = _member_product(user=user, product_id=product_id)
        _move(product, "archived")
    return load_product(product_id)


def reindex_supplier_products(*, supplier_id: int) -> int:
    """Recompute search text of all of a supplier's products (after a rename). Returns how many. Its own unit
    of work, or part of the caller's when called inside one."""
    with transaction():
        supplier = db.session.get(Supplier, supplier_id)
        if supplier is None:
            raise NotFound("No such supplier.")
        products = list(db.session.scalars(select(Product).where(Product.supplier_id == supplier_id)
                                           .options(joinedload(Product.origin_district))))
        for product in products:
            search.reindex(product, supplier_name=supplier.name, district_name=product.origin_district.name)
    return len(products)


@supplier_renamed.connect
def _reindex_on_rename(supplier_id: int, **_names) -> None:
    # The one place a supplier's name reaches product search: inside the rename's own transaction.
    reindex_supplier_products(supplier_id=supplier_id)


# --- SKUs and stock -----------------------------------------------------------------------------------------


def _add_sku(product: Product, data: dict, *, actor_id: int | None) -> Sku:
    values = _sku_values(data)
    _check_sku(values)
    initial = data.get("stock", 0)
    sku = Sku(product_id=product.id, stock=0, **values)
    db.session.add(sku)
    db.session.flush()
    if initial:  # through stock.adjust, so the opening stock has its history row like any other change
        stock.adjust(sku_id=sku.id, delta=initial, reason="adjustment", note="opening stock", actor_id=actor_id)
    return sku


def add_sku(*, user, product_id: int, **data) -> Sku:
    with transaction():
        product, _supplier = _member_product(user=user, product_id=product_id)
        sku = _add_sku(product, data, actor_id=user.id)
        refresh_min_price(product)
    return load_sku(sku.id)


def update_sku(*, user, sku_id: int, changes: dict) -> Sku:
    with transaction():
        sku = member_sku(user=user, sku_id=sku_id)
        # Listing edits are staff work; a new price on an existing SKU is a manager's decision.
        repriced = any(f in changes and changes[f] != getattr(sku, f) for f in PRICE_FIELDS)
        require_member_of(user=user, supplier_id=sku.product.supplier_id, what="SKU",
                          action="set_prices" if repriced else "edit_listings")
        product = sku.product
        _check_sku(_sku_values(changes, sku))
        if changes.get("is_active") is False and sku.is_active and product.status == "active" and not (
                db.session.scalar(select(func.count()).select_from(Sku).where(
                    Sku.product_id == product.id, Sku.id != sku.id, Sku.is_active.is_(True)))):
            # An active product keeps one sellable option: archive the product instead.
            raise NoSku("This is the product's last active SKU; archive the product instead.")
        for field in SKU_FIELDS:
            if field in changes:
                setattr(sku, field, changes[field])
        refresh_min_price(product)
    return load_sku(sku_id)


def adjust_stock(*, user, sku_id: int, delta: int, reason: str, note: str = "") -> Sku:
    """A manual change (delivery, stocktake, damage): a conditional UPDATE, never below zero (409)."""
    with transaction():
        member_sku(user=user, sku_id=sku_id, action="adjust_stock")
        if reason == "damage" and delta > 0:
            raise ValidationFailed("Damage removes stock: delta is negative.",
                                   errors={"delta": ["Negative for damage."]})
        stock.adjust(sku_id=sku_id, delta=delta, reason=reason, note=note, actor_id=user.id)
    return load_sku(sku_id)


def record_sales(*, quantities: dict[int, int]) -> None:
    """Add sold quantities to product.sales_count ({product_id: qty}). Runs in the caller's transaction (does
    not commit); call it once an order is paid, not at checkout, so the product row is not a checkout hot spot.
    Products are updated in id order, like stock, so concurrent callers cannot deadlock."""
    for product_id, quantity in sorted(quantities.items()):
        if quantity < 0:
            raise ValueError("sold quantities are not negative")
        if quantity:
            db.session.execute(update(Product).where(Product.id == product_id)
                               .values(sales_count=Product.sales_count + quantity)
                               .execution_options(synchronize_session=False))
