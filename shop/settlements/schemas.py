from marshmallow import Schema, fields, validate

from shop.pagination import PageArgsSchema, page_schema
from shop.payments.schemas import BANK_REFERENCE
from shop.settlements.models import SETTLEMENT_STATUSES, SETTLEMENT_TRANSITIONS
from shop.validators import BUSINESS_DATE, Pattern, QueryId, StrictInt

MONTH = Pattern(r"^20[0-9]{2}-(0[1-9]|1[0-2])$", error="A month as YYYY-MM (Asia/Shanghai calendar).")
MONTH_ARG = [validate.Length(equal=7), MONTH]  # the length documents the widest value (request-line budget)

FIGURES = {
    "sales_fen": "What buyers paid for the supplier's goods in the month",
    "refunds_fen": "Refunds of goods counted in the month (net of refunds the provider refused)",
    "shipping_fen": "Shipping fees paid in the month (passed through: no commission)",
    "shipping_refunds_fen": "Shipping fees refunded in the month",
    "commission_fen": "The platform's commission: Σ over rate periods of round(base × bps / 10000), half away "
                      "from zero",
    "compensation_fen": "Pre-sale compensations paid out for the supplier in the month",
    "payable_fen": "sales - refunds + shipping - shipping_refunds - commission - compensation",
}


class CommissionPartSchema(Schema):
    rate_id = fields.Integer(allow_none=True, metadata={"description": "null: the default rate"})
    bps = fields.Integer()
    base_fen = fields.Integer(metadata={"description": "Net goods sales of the month at this rate"})
    commission_fen = fields.Integer()


class SettlementSummarySchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null while the month is open"})
    supplier_id = fields.Integer()
    month = fields.String()
    status = fields.String(metadata={"description": f"{', '.join(SETTLEMENT_STATUSES)}; moves: "
                                                    f"{SETTLEMENT_TRANSITIONS}"})
    sales_fen = fields.Integer(metadata={"description": FIGURES["sales_fen"]})
    refunds_fen = fields.Integer(metadata={"description": FIGURES["refunds_fen"]})
    shipping_fen = fields.Integer(metadata={"description": FIGURES["shipping_fen"]})
    shipping_refunds_fen = fields.Integer(metadata={"description": FIGURES["shipping_refunds_fen"]})
    commission_fen = fields.Integer(metadata={"description": FIGURES["commission_fen"]})
    compensation_fen = fields.Integer(metadata={"description": FIGURES["compensation_fen"]})
    payable_fen = fields.Integer(metadata={"description": FIGURES["payable_fen"]})
    closed_at = fields.DateTime(allow_none=True)
    payout_reference = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)


class SettlementSchema(SettlementSummarySchema):
    commissions = fields.List(fields.Nested(CommissionPartSchema))


SettlementPageSchema = page_schema(SettlementSummarySchema, "SettlementPageSchema")


class SettlementQueryArgsSchema(PageArgsSchema):
    supplier_id = QueryId(load_default=None)
    month = fields.String(load_default=None, validate=MONTH_ARG)
    status = fields.String(load_default=None, validate=validate.OneOf(("closed", "paid")))


class CloseMonthSchema(Schema):
    month = fields.String(required=True, validate=MONTH_ARG)


class ClosedMonthSchema(Schema):
    month = fields.String()
    settlements = fields.Integer(metadata={"description": "Settlements created: one per supplier with activity"})
    payable_fen = fields.Integer()
    commission_fen = fields.Integer()


class PayoutSchema(Schema):
    payout_reference = fields.String(required=True, validate=BANK_REFERENCE,
                                     metadata={"description": "The bank's reference of the transfer to the supplier"})


class CommissionRateSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    bps = fields.Integer(metadata={"description": "Basis points of net goods sales (500 = 5%)"})
    effective_from = fields.Date(metadata={"description": "First day it applies (Asia/Shanghai)"})
    created_at = fields.DateTime()


class CommissionRateCreateSchema(Schema):
    bps = StrictInt(required=True, validate=validate.Range(min=0, max=10_000))
    effective_from = fields.Date(required=True, validate=BUSINESS_DATE)
