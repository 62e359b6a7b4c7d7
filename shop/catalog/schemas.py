"""Catalog schemas. Shape and format are checked here; rules that span fields or need the stored row
(licence per product type, GI all-or-none, MOQ vs step, price tiers vs base price) live in the services,
so that PATCH is checked against the merged result."""
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shop.catalog.models import GI_SCHEMES, PRODUCT_STATUSES, PRODUCT_TYPES, RETURN_POLICIES
from shop.catalog.queries import season_of
from shop.catalog.return_policies import notice_for
from shop.pagination import PageArgsSchema, page_schema
from shop.money import MAX_PRICE_FEN
from shop.validators import Fen, Id, Pattern, Quantity, QueryId, RegionCode, StrictBool, StrictInt, Text

SC_LICENSE = Pattern(r"^SC\d{14}$", error='"SC" followed by 14 digits.')
BARCODE = Pattern(r"^\d{8,14}$", error="8 to 14 digits.")
MAX_IMAGES = 9
MANUAL_STOCK_REASONS = ("adjustment", "stocktake", "damage")
SORTS = ("newest", "price_asc", "price_desc", "best_selling")


# --- categories ---------------------------------------------------------------------------------------------


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    parent_id = fields.Integer(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)
    path = fields.String(dump_only=True)
    position = fields.Integer(dump_only=True)
    children = fields.List(fields.Nested(lambda: CategorySchema()), dump_only=True)


# --- SKUs ---------------------------------------------------------------------------------------------------


class PriceTierSchema(Schema):
    min_qty = Quantity(required=True)
    price_fen = Fen(required=True)


class SkuSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(dump_only=True)
    spec = fields.String(dump_only=True)
    unit = fields.String(dump_only=True)
    weight_g = fields.Integer(dump_only=True)
    price_fen = fields.Integer(dump_only=True)
    stock = fields.Integer(dump_only=True)
    min_order_qty = fields.Integer(dump_only=True)
    qty_step = fields.Integer(dump_only=True)
    price_tiers = fields.List(fields.Nested(PriceTierSchema), dump_only=True)
    barcode = fields.String(dump_only=True, allow_none=True)
    is_active = fields.Boolean(dump_only=True)


class SkuUpdateSchema(Schema):
    """No `stock`: stock only moves through stock adjustments (a conditional UPDATE with a history row),
    never by overwriting a number a concurrent checkout may just have changed."""

    spec = Text(80)
    unit = Text(16)
    weight_g = StrictInt(validate=validate.Range(min=1, max=1_000_000))
    price_fen = Fen()
    min_order_qty = Quantity()
    qty_step = Quantity()
    price_tiers = fields.List(fields.Nested(PriceTierSchema), validate=validate.Length(max=10))
    barcode = fields.String(allow_none=True, validate=BARCODE)
    is_active = StrictBool()


class SkuCreateSchema(SkuUpdateSchema):
    spec = Text(80, required=True)
    unit = Text(16, load_default="件")
    weight_g = StrictInt(required=True, validate=validate.Range(min=1, max=1_000_000))
    price_fen = Fen(required=True)
    stock = StrictInt(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    min_order_qty = Quantity(load_default=1)
    qty_step = Quantity(load_default=1)
    price_tiers = fields.List(fields.Nested(PriceTierSchema), load_default=list, validate=validate.Length(max=10))
    barcode = fields.String(load_default=None, allow_none=True, validate=BARCODE)
    is_active = StrictBool(load_default=True)


class StockAdjustmentCreateSchema(Schema):
    delta = StrictInt(required=True, validate=validate.Range(min=-10_000_000, max=10_000_000),
                      metadata={"description": "Units added (+) or removed (-); for a stocktake, counted minus "
                                               "recorded. Never below zero: 409 insufficient_stock."})
    reason = fields.String(required=True, validate=validate.OneOf(MANUAL_STOCK_REASONS))
    note = fields.String(load_default="", validate=validate.Length(max=255))

    @validates("delta")
    def delta_not_zero(self, value, **_kwargs):
        if value == 0:
            raise ValidationError("A stock adjustment changes the stock: zero is not one.")


class StockMovementSchema(Schema):
    id = fields.Integer(dump_only=True)
    sku_id = fields.Integer(dump_only=True)
    delta = fields.Integer(dump_only=True)
    reason = fields.String(dump_only=True)
    note = fields.String(dump_only=True)
    order_id = fields.Integer(dump_only=True, allow_none=True)
    actor_id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


# --- products -----------------------------------------------------------------------------------------------


class ProductRegionSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    level = fields.String(dump_only=True)


class ProductSupplierCardSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)


class ProductSupplierSchema(ProductSupplierCardSchema):
    district = fields.Nested(ProductRegionSchema, dump_only=True)


class GiRecordSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(dump_only=True)
    scheme = fields.String(required=True, validate=validate.OneOf(GI_SCHEMES))
    number = Text(64, required=True)
    protected_area = Text(255, required=True)
    harvest_months = fields.List(StrictInt(validate=validate.Range(min=1, max=12)), load_default=None,
                                 validate=validate.Length(max=12), metadata={"description": "Empty: not stated"})
    status = fields.String(dump_only=True, metadata={"description": "claimed (by the supplier) | verified (by "
                                                                    "an operator) | rejected"})
    review_note = fields.String(dump_only=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True)


class GiRecordBriefSchema(Schema):
    """A GI record on a product card: what it says and whether the platform has verified it."""

    id = fields.Integer()
    scheme = fields.String()
    number = fields.String()
    protected_area = fields.String()
    harvest_months = fields.List(fields.Integer())
    status = fields.String()


class GiReviewSchema(Schema):
    note = Text(500, min_length=0, load_default="", metadata={"description": "Required to reject"})


class ProductSummarySchema(Schema):
    """A list row: what a product card shows; loaded without per-row queries."""

    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    subtitle = fields.String(dump_only=True)
    category_id = fields.Integer(dump_only=True)
    supplier = fields.Nested(ProductSupplierCardSchema, dump_only=True)
    origin_district = fields.Nested(ProductRegionSchema, dump_only=True)
    min_price_fen = fields.Integer(dump_only=True)
    sales_count = fields.Integer(dump_only=True)
    cover_image = fields.Function(lambda p: p.images[0] if p.images else None, dump_only=True)
    gi_records = fields.List(fields.Nested(GiRecordBriefSchema), dump_only=True,
                             metadata={"description": "Each GI claim with its status; only verified ones are "
                                                      "vouched for by the platform"})
    gi_verified = fields.Boolean(attribute="has_verified_gi", dump_only=True)
    cold_chain = fields.Boolean(dump_only=True)
    sale_months = fields.List(fields.Integer(), dump_only=True)
    in_season = fields.Function(lambda p: season_of(p)["in_season"], dump_only=True,
                                metadata={"type": "boolean", "description": "On sale this month (Asia/Shanghai); "
                                          "out of season it cannot be bought (409 out_of_season)"})
    on_sale_again_month = fields.Function(lambda p: season_of(p)["on_sale_again_month"], dump_only=True,
                                          metadata={"type": "integer", "nullable": True,
                                                    "description": "When out of season: the month (1-12) it is "
                                                                   "on sale again"})
    return_policy = fields.String(dump_only=True)
    return_notice = fields.Function(lambda p: notice_for(p.return_policy), dump_only=True, metadata={
        "type": "object", "description": "What the buyer is told about 7-day no-reason return; when "
        "needs_confirmation, checkout lists the product in return_confirmations (with return_wording_version)"})
    status = fields.String(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)


class ProductSchema(ProductSummarySchema):
    """The full product: detail page and supplier-side views."""

    supplier_id = fields.Integer(dump_only=True)
    supplier = fields.Nested(ProductSupplierSchema, dump_only=True)
    description = fields.String(dump_only=True)
    origin_district_code = fields.String(dump_only=True)
    product_type = fields.String(dump_only=True)
    sc_license_number = fields.String(dump_only=True, allow_none=True)
    food_filing_number = fields.String(dump_only=True, allow_none=True)
    shelf_life_days = fields.Integer(dump_only=True, allow_none=True)
    storage = fields.String(dump_only=True)
    images = fields.List(fields.String(), dump_only=True)
    skus = fields.List(fields.Nested(SkuSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SkuProductSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    supplier = fields.Nested(ProductSupplierCardSchema, dump_only=True)
    origin_district = fields.Nested(ProductRegionSchema, dump_only=True)
    cold_chain = fields.Boolean(dump_only=True)
    return_policy = fields.String(dump_only=True)


class SkuDetailSchema(SkuSchema):
    product = fields.Nested(SkuProductSchema, dump_only=True)


class ProductDetailSchema(ProductSchema):
    # Provinces and cities that support the origin district under the counterpart programme (对口支援).
    supporting_regions = fields.List(fields.Nested(ProductRegionSchema), dump_only=True)


class ProductUpdateSchema(Schema):
    name = Text(120)
    subtitle = Text(200, min_length=0)
    description = Text(10_000, min_length=0)
    category_id = Id()
    origin_district_code = RegionCode()
    product_type = fields.String(validate=validate.OneOf(PRODUCT_TYPES))
    sc_license_number = fields.String(allow_none=True, validate=SC_LICENSE)
    food_filing_number = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    # One GI claim inline (forms, spreadsheets): all three or none. Several claims: /products/{id}/gi-records.
    gi_scheme = fields.String(allow_none=True, validate=validate.OneOf(GI_SCHEMES))
    gi_number = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    gi_protected_area = fields.String(allow_none=True, validate=validate.Length(min=1, max=255))
    shelf_life_days = StrictInt(allow_none=True, validate=validate.Range(min=1, max=36_500))
    storage = Text(120, min_length=0)
    cold_chain = StrictBool()
    sale_months = fields.List(StrictInt(validate=validate.Range(min=1, max=12)),
                              validate=validate.Length(min=1, max=12))
    return_policy = fields.String(validate=validate.OneOf(RETURN_POLICIES))
    images = fields.List(fields.Url(schemes={"http", "https"}, validate=validate.Length(max=500)),
                         validate=validate.Length(max=MAX_IMAGES))

    @validates("sale_months")
    def months_unique(self, value, **_kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("Each month once.")


class ProductCreateSchema(ProductUpdateSchema):
    supplier_id = Id(required=True)
    name = Text(120, required=True)
    category_id = Id(required=True)
    origin_district_code = RegionCode(required=True)
    product_type = fields.String(required=True, validate=validate.OneOf(PRODUCT_TYPES))
    return_policy = fields.String(required=True, validate=validate.OneOf(RETURN_POLICIES))
    skus = fields.List(fields.Nested(SkuCreateSchema), load_default=list, validate=validate.Length(max=50))


# --- list arguments -----------------------------------------------------------------------------------------


class ProductQueryArgsSchema(PageArgsSchema):
    category = QueryId(
                              metadata={"description": "A category id; its descendants are included."})
    origin_district = RegionCode()
    supplier_id = QueryId()
    gi_only = fields.Boolean(load_default=False, metadata={"description": "Only products with a verified GI"})
    in_season = fields.Boolean(load_default=False, metadata={"description": "On sale this month (Asia/Shanghai)."})
    in_stock = fields.Boolean(load_default=False)
    min_price_fen = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE_FEN))
    max_price_fen = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE_FEN))
    cold_chain = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=64))
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS))

    @validates_schema
    def price_range(self, data, **_kwargs):
        if data.get("min_price_fen") is not None and data.get("max_price_fen") is not None \
                and data["min_price_fen"] > data["max_price_fen"]:
            raise ValidationError("Above max_price_fen.", field_name="min_price_fen")


class SupplierProductQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))


ProductPageSchema = page_schema(ProductSummarySchema)
SupplierProductPageSchema = page_schema(ProductSchema, name="SupplierProductPageSchema")
StockMovementPageSchema = page_schema(StockMovementSchema)
