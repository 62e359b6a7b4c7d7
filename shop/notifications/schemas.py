from marshmallow import Schema, fields

from shop.pagination import page_schema


class MessageSchema(Schema):
    id = fields.Integer()
    template = fields.String()
    subject = fields.String()
    body = fields.String()
    order_id = fields.Integer(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


MessagePageSchema = page_schema(MessageSchema)
