from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.orders import refunds, services
from shop.orders.schemas import (CancelSchema, OperatorRefundSchema, OrderEventSchema, OrderPageSchema,
                                 OrderQueryArgsSchema, OrderSchema, PaymentSchema, RefundDecisionSchema,
                                 RefundPageSchema, RefundQueryArgsSchema, RefundRequestSchema, RefundSchema)
from shop.payments import services as payments

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="The buyer's orders, refunds and payments")


@blp.route("/orders")
class Orders(MethodView):
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @blp.response(200, OrderPageSchema)
    def get(self, args):
        return services.list_orders(user=authenticated_user(), **args)


@blp.route("/orders/<int:order_id>")
class OrderItem(MethodView):
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        return services.get_order(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/cancel")
class OrderCancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, OrderSchema)
    def post(self, data, order_id):
        return services.cancel_order(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/orders/<int:order_id>/confirm-receipt")
class OrderConfirmReceipt(MethodView):
    @blp.response(200, OrderSchema)
    def post(self, order_id):
        return services.confirm_receipt(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/events")
class OrderEvents(MethodView):
    @blp.response(200, OrderEventSchema(many=True))
    def get(self, order_id):
        return services.list_events(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/payment")
class OrderPayment(MethodView):
    @blp.response(200, PaymentSchema)
    def post(self, order_id):
        """Create (once) or return the order's PaymentIntent: retry here if checkout could not reach Stripe."""
        return payments.open_payment(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/refunds")
class OrderRefunds(MethodView):
    @blp.response(200, RefundSchema(many=True))
    def get(self, order_id):
        return refunds.list_order_refunds(user=authenticated_user(), order_id=order_id)

    @blp.arguments(RefundRequestSchema)
    @blp.response(201, RefundSchema(many=True))
    def post(self, data, order_id):
        """Ask for a refund after delivery; one request per supplier whose lines are named."""
        return refunds.request_refund(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/orders/<int:order_id>/operator-refunds")
class OperatorRefunds(MethodView):
    @blp.arguments(OperatorRefundSchema)
    @blp.response(201, RefundSchema)
    def post(self, data, order_id):
        return refunds.operator_refund(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/refunds")
class SupplierRefunds(MethodView):
    @blp.arguments(RefundQueryArgsSchema, location="query")
    @blp.response(200, RefundPageSchema)
    def get(self, args):
        """Refund requests on the lines of the caller's suppliers."""
        return refunds.list_supplier_refunds(user=authenticated_user(), **args)


@blp.route("/refunds/<int:refund_id>/decision")
class RefundDecision(MethodView):
    @blp.arguments(RefundDecisionSchema)
    @blp.response(200, RefundSchema)
    def post(self, data, refund_id):
        return refunds.decide_refund(user=authenticated_user(), refund_id=refund_id, **data)
