from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.checkout import services
from shop.checkout.schemas import CheckoutHeadersSchema, CheckoutResultSchema, CheckoutSchema
from shop.checkout import error_codes as checkout_errors
from shop.error_codes import codes_of, documents
from shop.payments.error_codes import PAYMENT_PROVIDER_UNAVAILABLE

blp = Blueprint("checkout", __name__, url_prefix="/api/v1", description="Checkout")


@blp.route("/checkout")
class Checkout(MethodView):
    @documents(*codes_of(checkout_errors), PAYMENT_PROVIDER_UNAVAILABLE)
    @blp.arguments(CheckoutHeadersSchema, location="headers")
    @blp.arguments(CheckoutSchema)
    @blp.response(201, CheckoutResultSchema)
    def post(self, headers, data):
        """Place one order (one fulfilment per supplier), reserve stock and open the Stripe payment.
        The same Idempotency-Key with the same body returns the same order. When Stripe does not answer, 503
        payment_provider_unavailable: the order stands with its stock held, and the problem names it (`order_id`)
        and where to pay it (`retry`: POST /api/v1/orders/{id}/payment)."""
        return services.checkout(user=authenticated_user(), idempotency_key=headers["idempotency_key"], **data)
