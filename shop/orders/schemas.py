from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from stdnum.cn import uscc

from shop.orders.models import ORDER_STATUSES, PAYMENT_PLANS
from shop.pagination import PageArgsSchema, page_schema
from shop.validators import Pattern, QueryId, Text


class FapiaoSchema(Schema):
    """增值税发票: 普通 (normal) for consumers, 专用 (special) for VAT-registered businesses."""

    type = fields.String(required=True, validate=validate.OneOf(("normal", "special")))
    title = Text(100, required=True)
    taxpayer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    bank = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    account = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))

    @validates_schema
    def fields_for_type(self, data, **kwargs):
        errors = {}
        if data.get("taxpayer_id") and not uscc.is_valid(data["taxpayer_id"]):
            errors["taxpayer_id"] = ["Not a valid unified social credit code."]
        if data.get("type") == "special":
            for name in ("taxpayer_id", "address", "phone", "bank", "account"):
                if not data.get(name):
                    errors.setdefault(name, ["Required for a special (专用) fapiao."])
        if errors:
            raise ValidationError(errors)


class ReturnConfirmationSchema(Schema):
    product_id = fields.Integer()
    wording_version = fields.String(allow_none=True, metadata={
        "description": "The return notice version confirmed; null for orders placed before versions were kept"})
    confirmed_at = fields.String(metadata={"format": "date-time"})


class ShippingAddressSnapshotSchema(Schema):
    """The address as printed on the parcel, frozen into the order when it was placed."""

    recipient = fields.String()
    mobile = fields.String()
    region_code = fields.String()
    region_names = fields.List(fields.String(), metadata={"description": "Province first, down to the county"})
    detail = fields.String()
    postal_code = fields.String(allow_none=True)


def line_saving_fen(line) -> int:
    """What a volume tier saved on the line (0 at the list price; lines sold before list prices were kept: 0)."""
    return ((line.list_unit_price_fen or line.unit_price_fen) - line.unit_price_fen) * line.quantity


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
    unit_price_fen = fields.Integer(metadata={"description": "What the buyer pays per unit (a volume tier's price "
                                                             "on procurement orders)"})
    list_unit_price_fen = fields.Function(lambda line: line.list_unit_price_fen or line.unit_price_fen,
                                          metadata={"type": "integer", "description": "The SKU's list price when "
                                                                                      "it sold"})
    saving_fen = fields.Function(lambda line: line_saving_fen(line),
                                 metadata={"type": "integer", "description": "(list − unit price) × quantity"})
    category_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    line_total_fen = fields.Integer()
    paid_fen = fields.Integer(metadata={"description": "The line's share of the order's payments"})
    refunded_fen = fields.Integer(metadata={"description": "The line's share of the order's refunds; the line's "
                                                           "net is paid_fen - refunded_fen"})
    return_policy = fields.String()


class FulfillmentBriefSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    status = fields.String()
    subtotal_fen = fields.Integer()
    shipping_fen = fields.Integer()
    shipping_paid_fen = fields.Integer()
    shipping_refunded_fen = fields.Integer()
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
    saving_fen = fields.Function(lambda order: sum(line_saving_fen(line) for line in order.lines), metadata={
        "type": "integer", "description": "What volume tiers saved against list prices, over all lines"})
    payment_plan = fields.String(validate=validate.OneOf(PAYMENT_PLANS),
                                 metadata={"description": "card: one card payment; deposit_balance: a card deposit "
                                                          "then the balance; bank_transfer: transfers an operator "
                                                          "records, in as many parts as arrive; on_terms: "
                                                          "fulfilled first, an invoice paid by transfer"})
    deposit_fen = fields.Integer()
    paid_fen = fields.Integer()
    due_fen = fields.Integer(metadata={"description": "Still to be paid"})
    refunded_fen = fields.Integer()
    refund_status = fields.String()
    shipping_hold = fields.String(allow_none=True, metadata={
        "description": "Why it may not ship yet (a pledge waits for its campaign's allocation); null when it may"})
    shipping_address = fields.Nested(ShippingAddressSnapshotSchema)
    buyer_region_code = fields.String(allow_none=True)
    organization_id = fields.Integer(allow_none=True, metadata={"description": "Procurement: the buying "
                                                                              "organisation"})
    po_number = fields.String(allow_none=True)
    requested_delivery_on = fields.Date(allow_none=True)
    fapiao = fields.Nested(FapiaoSchema, allow_none=True)
    return_confirmations = fields.List(fields.Nested(ReturnConfirmationSchema), metadata={
        "description": "The buyer's confirmations that products are excluded from 7-day no-reason return"})
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


class SupplierFulfillmentSchema(Schema):
    """What a supplier sees of an order: its own lines and the parcel address, nothing of other suppliers."""

    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String(attribute="order.number")
    order_status = fields.String(attribute="order.status")
    placed_at = fields.DateTime(attribute="order.placed_at")
    shipping_address = fields.Nested(ShippingAddressSnapshotSchema, attribute="order.shipping_address")
    fapiao = fields.Nested(FapiaoSchema, attribute="order.fapiao", allow_none=True)
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
    tracking_number = fields.String(required=True, validate=Pattern(r"^[A-Za-z0-9-]{6,40}$"))
