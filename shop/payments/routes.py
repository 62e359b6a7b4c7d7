from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user, public
from shop.payments import services
from shop.payments.schemas import BankTransferSchema, PaymentSchema, PaymentWithSecretSchema, WebhookResultSchema
from shop.payments import error_codes as payment_errors
from shop.error_codes import documents

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payments of orders, and provider callbacks")


@blp.route("/orders/<int:order_id>/payment")
class OrderPayment(MethodView):
    @documents(payment_errors.ORDER_NOT_PAYABLE, payment_errors.PAYMENT_IN_PROGRESS, payment_errors.NOT_CARD_PAYABLE,
               payment_errors.PAYMENT_PROVIDER_UNAVAILABLE)
    @blp.response(200, PaymentWithSecretSchema)
    def post(self, order_id):
        """Create (once) or return the PaymentIntent of the part now due: retry here if checkout could not reach
        Stripe, and pay a balance here after a deposit."""
        return services.open_payment(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/payments")
class OrderPayments(MethodView):
    @blp.response(200, PaymentSchema(many=True))
    def get(self, order_id):
        """Every payment of the order: card payments and bank transfers."""
        return services.list_payments(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/bank-transfers")
class OrderBankTransfers(MethodView):
    @documents(payment_errors.ORDER_NOT_PAYABLE, payment_errors.NOT_TRANSFER_PAYABLE, payment_errors.OVERPAYMENT, payment_errors.DUPLICATE_BANK_REFERENCE)
    @blp.arguments(BankTransferSchema)
    @blp.response(201, PaymentSchema)
    def post(self, data, order_id):
        """Platform operators: record a bank transfer received for the order (422 overpayment if it is more than
        is due; 409 duplicate_bank_reference if the reference is recorded already)."""
        return services.record_bank_transfer(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/payments/stripe/webhook")
class StripeWebhook(MethodView):
    csrf_exempt = True  # authenticated by the Stripe-Signature HMAC over the raw body
    raw_body = True  # which the gateway parses and checks itself

    @blp.response(200, WebhookResultSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Stripe-Signature", "required": True, "schema": {"type": "string"},
                          "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<raw body>'>"}],
             requestBody={"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["id", "type"],
                 "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                                "data": {"type": "object"}}}}}},
             description="Stripe events, signed. 400 invalid_signature or invalid_event changes nothing.")
    @documents(payment_errors.INVALID_SIGNATURE, payment_errors.INVALID_EVENT)
    @public
    def post(self):
        return services.handle_webhook(payload=request.get_data(cache=False), headers=request.headers)
