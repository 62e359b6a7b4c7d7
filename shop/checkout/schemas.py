from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from stdnum.cn import uscc

from shop.orders.schemas import OrderSchema
from shop.payments.schemas import PaymentWithSecretSchema
from shop.validators import Id, Quantity, Text


class CheckoutItemSchema(Schema):
    sku_id = Id(required=True)
    quantity = Quantity(required=True)


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


class CheckoutSchema(Schema):
    address_id = Id(required=True)
    items = fields.List(fields.Nested(CheckoutItemSchema), load_default=None,
                        validate=validate.Length(min=1, max=100),
                        metadata={"description": "Omit to check out the whole cart"})
    return_confirmations = fields.List(Id(), load_default=list, validate=validate.Length(max=100), metadata={
        "description": "Product ids whose exclusion from 7-day no-reason return the buyer confirms"})
    fapiao = fields.Nested(FapiaoSchema, load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=255))


class CheckoutHeadersSchema(Schema):
    class Meta:
        unknown = "exclude"  # every other request header

    idempotency_key = fields.String(data_key="Idempotency-Key", load_default=None,
                                    validate=validate.Regexp(r"^[\x21-\x7e]{1,255}$"))


class CheckoutResultSchema(Schema):
    order = fields.Nested(OrderSchema)
    payment = fields.Nested(PaymentWithSecretSchema, allow_none=True)
    payment_error = fields.String(allow_none=True)
