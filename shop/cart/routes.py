from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.cart import services
from shop.cart.schemas import CartLineCreateSchema, CartLineUpdateSchema, CartQueryArgsSchema, CartSchema
from shop.cart import error_codes as cart_errors
from shop.error_codes import codes_of, documents

blp = Blueprint("cart", __name__, url_prefix="/api/v1", description="The shopper's cart")


@blp.route("/cart")
class Cart(MethodView):
    @blp.arguments(CartQueryArgsSchema, location="query")
    @blp.response(200, CartSchema)
    def get(self, args):
        return services.view_cart(user=authenticated_user(), address_id=args.get("address_id"))

    @blp.response(200, CartSchema)
    def delete(self):
        return services.clear(user=authenticated_user())


@blp.route("/cart/lines")
class CartLines(MethodView):
    @documents(*codes_of(cart_errors))
    @blp.arguments(CartLineCreateSchema)
    @blp.response(201, CartSchema)
    def post(self, data):
        return services.add_line(user=authenticated_user(), **data)


@blp.route("/cart/lines/<int:line_id>")
class CartLineItem(MethodView):
    @documents(cart_errors.INVALID_QUANTITY, cart_errors.OUT_OF_SEASON, cart_errors.INSUFFICIENT_STOCK)
    @blp.arguments(CartLineUpdateSchema)
    @blp.response(200, CartSchema)
    def patch(self, data, line_id):
        return services.set_quantity(user=authenticated_user(), line_id=line_id, **data)

    @blp.response(200, CartSchema)
    def delete(self, line_id):
        return services.remove_line(user=authenticated_user(), line_id=line_id)
