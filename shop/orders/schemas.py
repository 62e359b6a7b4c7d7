from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.orders.models import ORDER_STATUSES, REFUND_STATUSES
from shop.pagination import PageArgsSchema, page_schema
from shop.validators import Fen, Id, Quantity, QueryId, StrictBool, Text


class OrderLineSchema(Schema):
    id = fields.Integer()
    fulfillment_id = fields.Integer()
    sku_id = fields.Integer()
    product_id = fields.Integer()
    supplier_id = fields.Integer()
    origin_district_code = fields.String()
    product_name = fields.String()
    sku_spec = fields.String()
    unit = fields.String()
    unit_price_fen = fields.Integer()
    quantity = fields.Integer()
    line_total_fen = fields.Integer()
    refunded_fen = fields.Integer()
    return_policy = fields.String()


class FulfillmentBriefSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    status = fields.String()
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class OrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    channel = fields.String()
    payment_terms = fields.String()
    currency = fields.String()
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    discount_fen = fields.Integer()
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    refund_status = fields.String()
    shipping_address = fields.Dict()
    buyer_region_code = fields.String(allow_none=True)
    fapiao = fields.Dict(allow_none=True)
    return_confirmations = fields.List(fields.Integer())
    note = fields.String()
    flagged = fields.Boolean()
    placed_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))
    fulfillments = fields.List(fields.Nested(FulfillmentBriefSchema))


OrderPageSchema = page_schema(OrderSchema)


class OrderQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))


class OrderEventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    data = fields.Dict()
    created_at = fields.DateTime()


class CancelSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class PaymentSchema(Schema):
    id = fields.Integer()
    provider = fields.String()
    kind = fields.String()
    status = fields.String()
    amount_fen = fields.Integer()
    currency = fields.String()
    provider_ref = fields.String(allow_none=True)
    client_secret = fields.String(allow_none=True, metadata={"description": "For Stripe.js / the mobile SDK"})
    failure_code = fields.String(allow_none=True)


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    fulfillment_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String()
    amount_fen = fields.Integer()
    lines = fields.List(fields.Dict())
    reason = fields.String()
    photo_urls = fields.List(fields.String())
    decision_note = fields.String()
    failure_message = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


RefundPageSchema = page_schema(RefundSchema)


class RefundItemSchema(Schema):
    order_line_id = Id(required=True)
    quantity = Quantity(required=True)


class RefundRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("no_reason_return", "quality_claim", "other")))
    items = fields.List(fields.Nested(RefundItemSchema), required=True, validate=validate.Length(min=1, max=50))
    reason = Text(500, required=True)
    photo_urls = fields.List(fields.Url(schemes={"http", "https"}), load_default=list,
                             validate=validate.Length(max=9))

    @validates_schema
    def distinct_lines(self, data, **kwargs):
        ids = [item["order_line_id"] for item in data.get("items", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each line may appear once.", "items")


class OperatorRefundSchema(Schema):
    amount_fen = Fen(required=True)
    reason = Text(500, required=True)


class RefundDecisionSchema(Schema):
    approve = StrictBool(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))
    amount_fen = Fen(load_default=None, allow_none=True, metadata={"description": "Approve part of the request"})


class RefundQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))


class SupplierFulfillmentSchema(Schema):
    """What a supplier sees of an order: its own lines and the parcel address, nothing of other suppliers."""

    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String(attribute="order.number")
    order_status = fields.String(attribute="order.status")
    placed_at = fields.DateTime(attribute="order.placed_at")
    shipping_address = fields.Dict(attribute="order.shipping_address")
    fapiao = fields.Dict(attribute="order.fapiao", allow_none=True)
    supplier_id = fields.Integer()
    status = fields.String()
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))


SupplierFulfillmentPageSchema = page_schema(SupplierFulfillmentSchema)


class FulfillmentQueryArgsSchema(PageArgsSchema):
    supplier_id = QueryId()
    status = fields.String(validate=validate.OneOf(("pending", "shipped", "delivered", "cancelled")))


class ShipSchema(Schema):
    carrier = Text(40, required=True)
    tracking_number = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]{6,40}$"))
