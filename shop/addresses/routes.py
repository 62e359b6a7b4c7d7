from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.addresses import services
from shop.addresses.schemas import AddressCreateSchema, AddressSchema, AddressUpdateSchema

blp = Blueprint("addresses", __name__, url_prefix="/api/v1", description="The shopper's address book")


@blp.route("/addresses")
class Addresses(MethodView):
    @blp.response(200, AddressSchema(many=True))
    def get(self):
        return services.list_addresses(user=authenticated_user())

    @blp.arguments(AddressCreateSchema)
    @blp.response(201, AddressSchema)
    def post(self, data):
        return services.create_address(user=authenticated_user(), **data)


@blp.route("/addresses/<int:address_id>")
class AddressItem(MethodView):
    @blp.response(200, AddressSchema)
    def get(self, address_id):
        return services.get_address(user=authenticated_user(), address_id=address_id)

    @blp.arguments(AddressUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, AddressSchema)
    def patch(self, changes, address_id):
        return services.update_address(user=authenticated_user(), address_id=address_id, changes=changes)

    @blp.response(204)
    def delete(self, address_id):
        services.delete_address(user=authenticated_user(), address_id=address_id)
