from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shop.payments import services

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payment provider callbacks")


class WebhookResultSchema(Schema):
    event_id = fields.String()
    outcome = fields.String()


@blp.route("/payments/stripe/webhook")
class StripeWebhook(MethodView):
    csrf_exempt = True  # authenticated by the Stripe-Signature HMAC over the raw body

    @blp.response(200, WebhookResultSchema)
    def post(self):
        return services.handle_webhook(payload=request.get_data(cache=False), headers=request.headers)


