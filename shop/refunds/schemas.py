from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.pagination import PageArgsSchema, page_schema
from shop.payments.schemas import BANK_REFERENCE, not_in_future
from shop.refunds.models import REFUND_STATUSES
from shop.validators import MAX_AMOUNT_FEN, Fen, Id, Quantity, StrictBool, Text


class RefundLineSchema(Schema):
    kind = fields.String(metadata={"description": "line (an order line) or shipping (a fulfilment's shipping)"})
    order_line_id = fields.Integer(allow_none=True)
    fulfillment_id = fields.Integer()
    quantity = fields.Integer(allow_none=True)
    amount_fen = fields.Integer()


class RefundPartSchema(Schema):
    id = fields.Integer()
    payment_id = fields.Integer()
    provider = fields.String()
    amount_fen = fields.Integer()
    status = fields.String(metadata={"description": "pending, awaiting_transfer (an operator sends it), succeeded, "
                                                    "failed"})
    provider_ref = fields.String(allow_none=True)
    value_date = fields.Date(allow_none=True)
    failure_message = fields.String()
    completed_at = fields.DateTime(allow_none=True)


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    fulfillment_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String()
    amount_fen = fields.Integer(metadata={"description": "Asked for, then approved"})
    released_fen = fields.Integer(metadata={"description": "Approved but refused by the provider"})
    refunded_fen = fields.Integer(metadata={"description": "What this refund gives back: amount_fen - released_fen"})
    lines = fields.List(fields.Nested(RefundLineSchema),
                        metadata={"description": "The refund split over the order's lines and shipping, to the fen"})
    parts = fields.List(fields.Nested(RefundPartSchema),
                        metadata={"description": "The payments it goes back through: card payments first, then bank "
                                                 "transfers, newest first within each"})
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
    amount_fen = Fen(required=True, max_fen=MAX_AMOUNT_FEN)
    reason = Text(500, required=True)


class RefundDecisionSchema(Schema):
    approve = StrictBool(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))
    amount_fen = Fen(load_default=None, allow_none=True, max_fen=MAX_AMOUNT_FEN,
                     metadata={"description": "Approve part of the request"})


class RefundTransferSchema(Schema):
    part_id = Id(required=True)
    value_date = fields.Date(required=True, validate=not_in_future)
    reference = fields.String(required=True, validate=BANK_REFERENCE)


class RefundQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
