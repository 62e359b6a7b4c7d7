from marshmallow import Schema, fields, validate

from shop.orders.schemas import FapiaoSchema, OrderSchema
from shop.payments.schemas import PaymentWithSecretSchema
from shop.validators import Id, Pattern, Quantity


class CheckoutItemSchema(Schema):
    sku_id = Id(required=True)
    quantity = Quantity(required=True)


class CheckoutSchema(Schema):
    address_id = Id(required=True)
    items = fields.List(fields.Nested(CheckoutItemSchema), load_default=None,
                        validate=validate.Length(min=1, max=100),
                        metadata={"description": "Omit to check out the whole cart"})
    return_confirmations = fields.List(Id(), load_default=list, validate=validate.Length(max=100), metadata={
        "description": "Product ids whose exclusion from 7-day no-reason return the buyer confirms"})
    return_wording_version = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32),
                                           metadata={"description": "The return_notice version the buyer read; "
                                                     "409 return_wording_changed if it is no longer current"})
    fapiao = fields.Nested(FapiaoSchema, load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=255))


class CheckoutHeadersSchema(Schema):
    class Meta:
        unknown = "exclude"  # every other request header

    idempotency_key = fields.String(data_key="Idempotency-Key", load_default=None,
                                    validate=Pattern(r"^[\x21-\x7e]{1,255}$"))


class CheckoutResultSchema(Schema):
    order = fields.Nested(OrderSchema)
    payment = fields.Nested(PaymentWithSecretSchema, allow_none=True)
    payment_error = fields.String(allow_none=True)
