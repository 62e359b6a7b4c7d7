"""Schemas of province minimums, annual quotas and statements (shop.procurement.quota_routes)."""
from marshmallow import Schema, fields, validate

from shop.pagination import page_schema
from shop.procurement.quotas import BP_PER_WHOLE, NATIONAL_MINIMUM_BP
from shop.procurement.statements import MAX_PERIOD_DAYS
from shop.validators import MAX_AMOUNT_FEN, Fen, StrictInt, Text

BP = "Basis points: 2000 = 20%."


class ProvinceQuotaMinimumSchema(Schema):
    region_code = fields.String(dump_only=True)
    region_name = fields.String(dump_only=True)
    share_bp = fields.Integer(dump_only=True, metadata={"description": BP})
    source = fields.String(dump_only=True, metadata={"description": "The provincial document that sets it."})
    updated_at = fields.DateTime(dump_only=True)


class ProvinceQuotaMinimumUpdateSchema(Schema):
    share_bp = StrictInt(required=True, validate=validate.Range(min=NATIONAL_MINIMUM_BP, max=BP_PER_WHOLE),
                         metadata={"description": f"{BP} At least the national {NATIONAL_MINIMUM_BP}."})
    source = Text(1000, required=True, metadata={"description": "The provincial document (title, number, date)."})


class QuotaSchema(Schema):
    organization_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    canteen_food_spend_fen = fields.Integer(dump_only=True)
    share_bp = fields.Integer(dump_only=True, metadata={"description": BP})
    target_fen = fields.Integer(dump_only=True, metadata={
        "description": "ceil(canteen_food_spend_fen × share_bp / 10000)."})
    progress_fen = fields.Integer(dump_only=True, metadata={
        "description": "Paid procurement of canteen food from reservoir districts placed in the year (local "
                       "calendar), net of refunds. TCM decoction pieces, medicinal herbs and seeds do not count."})
    share_reached_bp = fields.Integer(dump_only=True, metadata={
        "description": "progress × 10000 // canteen_food_spend_fen (0 when the spend is 0)."})
    remaining_fen = fields.Integer(dump_only=True, metadata={"description": "max(target − progress, 0)."})
    achieved = fields.Boolean(dump_only=True)
    filed_by_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class QuotaFileSchema(Schema):
    canteen_food_spend_fen = Fen(required=True, allow_zero=True, max_fen=MAX_AMOUNT_FEN, metadata={
        "description": "The year's canteen food spending (食堂食材采购), integer fen."})
    share_bp = StrictInt(required=True, validate=validate.Range(min=0, max=BP_PER_WHOLE), metadata={
        "description": f"{BP} At least the minimum of the organisation's province (10% nationally)."})


QuotaPageSchema = page_schema(QuotaSchema)
ProvinceQuotaMinimumPageSchema = page_schema(ProvinceQuotaMinimumSchema)


class StatementArgsSchema(Schema):
    # A date is 10 characters; saying so keeps every documented query inside gunicorn's request line.
    start = fields.Date(required=True, data_key="from", metadata={
        "description": "First local day (Asia/Shanghai), YYYY-MM-DD.", "maxLength": 10})
    end = fields.Date(required=True, data_key="to", metadata={
        "description": f"Last local day, included; at most {MAX_PERIOD_DAYS} days after `from` counting both.",
        "maxLength": 10})


class StatementOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    placed_at = fields.DateTime()
    placed_on = fields.Date(metadata={"description": "The local day it was placed."})
    status = fields.String()
    payment_plan = fields.String()
    po_number = fields.String(allow_none=True)
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    net_paid_fen = fields.Integer(metadata={"description": "paid − refunded."})
    due_fen = fields.Integer(metadata={"description": "total − paid; 0 for a cancelled order."})
    invoice_number = fields.String(allow_none=True)
    invoice_due_on = fields.Date(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "The invoice's due date is past, the order is not paid in "
                                                      "full and not cancelled."})


class StatementTotalsSchema(Schema):
    order_count = fields.Integer()
    quantity = fields.Integer()
    ordered_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    net_paid_fen = fields.Integer()
    due_fen = fields.Integer()
    overdue_fen = fields.Integer()
    overdue_count = fields.Integer()


class AmountsSchema(Schema):
    quantity = fields.Integer()
    ordered_fen = fields.Integer()
    net_paid_fen = fields.Integer()


class ShippingPartSchema(Schema):
    ordered_fen = fields.Integer(metadata={"description": "Shipping fees less order discounts."})
    net_paid_fen = fields.Integer(metadata={"description": "Shipping paid less shipping refunded."})


class DistrictRowSchema(AmountsSchema):
    code = fields.String()
    name = fields.String()


class SupplierRowSchema(AmountsSchema):
    id = fields.Integer()
    name = fields.String()


class CategoryRowSchema(AmountsSchema):
    id = fields.Integer(allow_none=True)
    name = fields.String()


def _breakdown(row_schema, name: str):
    return Schema.from_dict({"rows": fields.List(fields.Nested(row_schema)),
                             "shipping": fields.Nested(ShippingPartSchema)}, name=name)


class StatementQuotaSchema(Schema):
    year = fields.Integer()
    quota = fields.Nested(QuotaSchema, allow_none=True, metadata={"description": "null: nothing filed."})


class StatementSchema(Schema):
    organization = fields.Nested(Schema.from_dict({"id": fields.Integer(), "name": fields.String()},
                                                  name="StatementOrganization"))
    period = fields.Nested(Schema.from_dict({"from": fields.Date(), "to": fields.Date()}, name="StatementPeriod"))
    as_of = fields.Date(metadata={"description": "The local day overdue is judged on."})
    orders = fields.List(fields.Nested(StatementOrderSchema))
    totals = fields.Nested(StatementTotalsSchema)
    by_district = fields.Nested(_breakdown(DistrictRowSchema, "StatementByDistrict"), metadata={
        "description": "rows + shipping = totals (quantity, ordered_fen, net_paid_fen), to the fen."})
    by_supplier = fields.Nested(_breakdown(SupplierRowSchema, "StatementBySupplier"))
    by_category = fields.Nested(_breakdown(CategoryRowSchema, "StatementByCategory"))
    quotas = fields.List(fields.Nested(StatementQuotaSchema), metadata={
        "description": "Each calendar year the period touches."})

