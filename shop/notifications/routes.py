from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.notifications import services
from shop.notifications.schemas import MessagePageSchema
from shop.pagination import PageArgsSchema

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Messages to the signed-in user")


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MessagePageSchema)
    def get(self, args):
        return services.list_messages(user=authenticated_user(), **args)
