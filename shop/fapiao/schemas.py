from marshmallow import Schema, fields, validate

from shop.fapiao.models import FAPIAO_STATUSES, FAPIAO_TYPES
from shop.pagination import PageArgsSchema, page_schema
from shop.validators import MAX_AMOUNT_FEN, Fen, Pattern, QueryId

# 8 digits: a traditional fapiao's number (with its separate 发票代码); 20 digits: a 全电发票 (fully digital).
NUMBER_PATTERN = r"^(?:[0-9]{8}|[0-9]{20})$"


class FapiaoBuyerSchema(Schema):
    """The buyer's details as the order requested them (a snapshot: later edits of an organisation do not change
    a fapiao already asked for)."""

    title = fields.String()
    taxpayer_id = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    bank = fields.String(allow_none=True)
    account = fields.String(allow_none=True)


class FapiaoRecordSchema(Schema):
    """One supplier's fapiao for its fulfilment of an order: requested with the order, issued by the supplier
    once the goods have shipped."""

    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String(attribute="order.number")
    placed_at = fields.DateTime(attribute="order.placed_at")
    fulfillment_id = fields.Integer()
    fulfillment_status = fields.String(attribute="fulfillment.status")
    supplier_id = fields.Integer()
    supplier_name = fields.String(attribute="supplier.name", metadata={"description": "The seller (销售方)"})
    organization_id = fields.Integer(allow_none=True)
    buyer_id = fields.Integer()
    type = fields.String(validate=validate.OneOf(FAPIAO_TYPES), metadata={
        "description": "normal: 增值税普通发票; special: 增值税专用发票"})
    status = fields.String(validate=validate.OneOf(FAPIAO_STATUSES), metadata={
        "description": "requested → issued; cancelled when the fulfilment was cancelled"})
    buyer_details = fields.Nested(FapiaoBuyerSchema)
    invoiceable_fen = fields.Integer(metadata={
        "description": "The fulfilment's goods and shipping less what was refunded on them: the most a fapiao "
                       "for it may state"})
    number = fields.String(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    amount_fen = fields.Integer(allow_none=True)
    has_file = fields.Boolean(metadata={"description": "A PDF is attached: GET /fapiao/{id}/file"})
    file_size = fields.Integer(allow_none=True, metadata={"description": "Bytes"})
    issued_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


FapiaoRecordPageSchema = page_schema(FapiaoRecordSchema)


class FapiaoQueryArgsSchema(PageArgsSchema):
    supplier_id = QueryId(metadata={"description": "One of the caller's suppliers (default: all of them)"})
    status = fields.String(validate=validate.OneOf(FAPIAO_STATUSES))


class OrganizationFapiaoQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(FAPIAO_STATUSES))


class FapiaoIssueSchema(Schema):
    number = fields.String(required=True, validate=Pattern(NUMBER_PATTERN, error="8 or 20 digits."),
                           metadata={"description": "8 digits (traditional fapiao) or 20 digits (全电发票)"})
    issued_on = fields.Date(required=True, metadata={
        "description": "The date on the fapiao: not after today in China, not before the order was placed"})
    amount_fen = Fen(required=True, max_fen=MAX_AMOUNT_FEN, metadata={
        "description": "Tax included; at most the fapiao's invoiceable_fen"})
    pdf_base64 = fields.String(load_default=None, metadata={
        "description": "The e-fapiao PDF, standard base64 (line breaks allowed); at most 2 MiB decoded"})
