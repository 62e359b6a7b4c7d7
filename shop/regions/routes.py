from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import public

from shop.accounts.permissions import require_platform_admin
from shop.regions import services
from shop.regions.schemas import (RegionPageSchema, RegionQueryArgsSchema, RegionSchema, SupportPairCreateSchema,
                                  SupportPairPageSchema, SupportPairQueryArgsSchema, SupportPairSchema,
                                  SupportPairUpdateSchema)

blp = Blueprint("regions", __name__, url_prefix="/api/v1", description="Regions and counterpart-support pairs")


@blp.route("/regions")
class Regions(MethodView):
    @blp.arguments(RegionQueryArgsSchema, location="query")
    @blp.response(200, RegionPageSchema)
    @public
    def get(self, args):
        return services.list_regions(**args)


@blp.route("/regions/<string(maxlength=12):code>")  # 6 digits; a little slack keeps typos a 404 from the view
class RegionItem(MethodView):
    @blp.response(200, RegionSchema)
    @public
    def get(self, code):
        return services.get_region(code=code)


@blp.route("/support-pairs")
class SupportPairs(MethodView):
    @blp.arguments(SupportPairQueryArgsSchema, location="query")
    @blp.response(200, SupportPairPageSchema)
    @public
    def get(self, args):
        return services.list_support_pairs(**args)

    @blp.arguments(SupportPairCreateSchema)
    @blp.response(201, SupportPairSchema)
    def post(self, data):
        return services.create_support_pair(actor=require_platform_admin(), **data)


@blp.route("/support-pairs/<int:pair_id>")
class SupportPairItem(MethodView):
    @blp.response(200, SupportPairSchema)
    @public
    def get(self, pair_id):
        return services.get_support_pair(pair_id=pair_id)

    @blp.arguments(SupportPairUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, SupportPairSchema)
    def patch(self, changes, pair_id):
        return services.update_support_pair(actor=require_platform_admin(), pair_id=pair_id, changes=changes)
