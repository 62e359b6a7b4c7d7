import datetime as dt

from marshmallow import Schema, ValidationError, fields

from shop.validators import MAX_AMOUNT_FEN, Fen, Pattern


class PaymentSchema(Schema):
    id = fields.Integer()
    provider = fields.String(metadata={"description": "stripe (card) or bank_transfer (recorded by an operator)"})
    kind = fields.String(metadata={"description": "The part of the payment plan it collects: full, deposit, balance"})
    status = fields.String()
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer(metadata={"description": "Given back, or committed to refunds under way"})
    currency = fields.String()
    provider_ref = fields.String(allow_none=True, metadata={"description": "PaymentIntent id or bank reference"})
    failure_code = fields.String(allow_none=True)
    flag_reason = fields.String()
    value_date = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    succeeded_at = fields.DateTime(allow_none=True)


class PaymentWithSecretSchema(PaymentSchema):
    """Only the buyer's own POST /orders/{id}/payment sees the client secret."""

    client_secret = fields.String(allow_none=True, metadata={"description": "For Stripe.js / the mobile SDK"})


def not_in_future(value: dt.date) -> None:
    # The center's bank statements are kept in China time; a value date after tomorrow there is a typo.
    if value > dt.date.today() + dt.timedelta(days=1):
        raise ValidationError("A value date cannot be in the future.")


BANK_REFERENCE = Pattern(r"^[A-Za-z0-9][A-Za-z0-9._/-]{3,63}$",
                                 error="4 to 64 letters, digits and . _ / - (the bank's transaction reference).")


class BankTransferSchema(Schema):
    amount_fen = Fen(required=True, max_fen=MAX_AMOUNT_FEN)
    value_date = fields.Date(required=True, validate=not_in_future)
    reference = fields.String(required=True, validate=BANK_REFERENCE)


class WebhookResultSchema(Schema):
    event_id = fields.String()
    outcome = fields.String()
