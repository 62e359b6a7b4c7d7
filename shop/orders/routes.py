from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.orders import cancellation, services
from shop.orders.schemas import CancelSchema, OrderEventSchema, OrderPageSchema, OrderQueryArgsSchema, OrderSchema
from shop.orders import error_codes as order_errors
from shop.error_codes import documents

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="The buyer's orders")


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
    @documents(order_errors.ORDER_NOT_CANCELLABLE, order_errors.ORDER_STATE_CHANGED)
    @blp.arguments(CancelSchema, required=False)  # the body (a reason) is optional
    @blp.response(200, OrderSchema)
    def post(self, data, order_id):
        return cancellation.cancel_order(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/orders/<int:order_id>/confirm-receipt")
class OrderConfirmReceipt(MethodView):
    @documents(order_errors.ILLEGAL_ORDER_TRANSITION, order_errors.ORDER_STATE_CHANGED)
    @blp.response(200, OrderSchema)
    def post(self, order_id):
        return services.confirm_receipt(user=authenticated_user(), order_id=order_id)


@blp.route("/orders/<int:order_id>/events")
class OrderEvents(MethodView):
    @blp.response(200, OrderEventSchema(many=True))
    def get(self, order_id):
        return services.list_events(user=authenticated_user(), order_id=order_id)
