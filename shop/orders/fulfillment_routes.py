from flask.views import MethodView
from flask_smorest import Blueprint

from shop.orders import error_codes as order_errors
from shop.error_codes import documents
from shop.accounts.auth import authenticated_user
from shop.orders import fulfillment as services
from shop.orders.schemas import (FulfillmentQueryArgsSchema, ShipSchema, SupplierFulfillmentPageSchema,
                                 SupplierFulfillmentSchema)

blp = Blueprint("fulfillments", __name__, url_prefix="/api/v1",
                description="Supplier side: each supplier's part of paid orders")


@blp.route("/fulfillments")
class Fulfillments(MethodView):
    @blp.arguments(FulfillmentQueryArgsSchema, location="query")
    @blp.response(200, SupplierFulfillmentPageSchema)
    def get(self, args):
        return services.list_fulfillments(user=authenticated_user(), **args)


@blp.route("/fulfillments/<int:fulfillment_id>")
class FulfillmentItem(MethodView):
    @blp.response(200, SupplierFulfillmentSchema)
    def get(self, fulfillment_id):
        return services.get_fulfillment(user=authenticated_user(), fulfillment_id=fulfillment_id)


@blp.route("/fulfillments/<int:fulfillment_id>/ship")
class FulfillmentShip(MethodView):
    @documents(order_errors.ORDER_NOT_SHIPPABLE, order_errors.ILLEGAL_FULFILLMENT_TRANSITION, order_errors.FULFILLMENT_STATE_CHANGED)
    @blp.arguments(ShipSchema)
    @blp.response(200, SupplierFulfillmentSchema)
    def post(self, data, fulfillment_id):
        return services.ship(user=authenticated_user(), fulfillment_id=fulfillment_id, **data)


@blp.route("/fulfillments/<int:fulfillment_id>/deliver")
class FulfillmentDeliver(MethodView):
    @documents(order_errors.ILLEGAL_FULFILLMENT_TRANSITION, order_errors.FULFILLMENT_STATE_CHANGED)
    @blp.response(200, SupplierFulfillmentSchema)
    def post(self, fulfillment_id):
        return services.deliver(user=authenticated_user(), fulfillment_id=fulfillment_id)
