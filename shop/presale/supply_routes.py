from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.catalog.exporter import XLSX_MIMETYPE
from shop.error_codes import documents
from shop.presale import error_codes as codes
from shop.presale import plan, supply
from shop.presale.schemas import PlanSchema, SupplyCommitmentSchema, SupplyCommitSchema, SupplyDeliverySchema
from shop.spreadsheets import download

blp = Blueprint("campaign_supply", __name__, url_prefix="/api/v1",
                description="以销定产 supply: cooperatives of the lead supplier's district commit quantities to a "
                            "campaign, and the plan sets demand against them. The lead supplier's members, "
                            "contributors and platform admins only (404 for anyone else).")

BINARY = {"type": "string", "format": "binary"}


@blp.route("/campaigns/<int:campaign_id>/supply")
class CampaignSupply(MethodView):
    @blp.response(200, SupplyCommitmentSchema(many=True), description="Every commitment of the campaign.")
    def get(self, campaign_id):
        return supply.list_supply(viewer=authenticated_user(), campaign_id=campaign_id)

    @documents(codes.SUPPLY_CLOSED, codes.OTHER_DISTRICT, codes.SUPPLIER_NOT_APPROVED, codes.SUPPLY_CHANGED)
    @blp.arguments(SupplyCommitSchema)
    @blp.response(200, SupplyCommitmentSchema, description="Creates the supplier's commitment of that grade or "
                                                           "replaces its quantity (the event keeps the previous).")
    def post(self, data, campaign_id):
        return supply.commit_supply(user=authenticated_user(), campaign_id=campaign_id, **data)


@blp.route("/campaigns/<int:campaign_id>/supply/<int:commitment_id>")
class CampaignSupplyItem(MethodView):
    @documents(codes.SUPPLY_CLOSED)
    @blp.response(204, description="Withdrawn, while the campaign is a draft or open.")
    def delete(self, campaign_id, commitment_id):
        supply.withdraw_supply(user=authenticated_user(), campaign_id=campaign_id, commitment_id=commitment_id)


@blp.route("/campaigns/<int:campaign_id>/supply/<int:commitment_id>/delivery")
class CampaignSupplyDelivery(MethodView):
    @documents(codes.DELIVERY_NOT_DUE)
    @blp.arguments(SupplyDeliverySchema)
    @blp.response(200, SupplyCommitmentSchema, description="The lead supplier's managers, once the campaign has "
                                                           "succeeded.")
    def post(self, data, campaign_id, commitment_id):
        return supply.record_delivery(user=authenticated_user(), campaign_id=campaign_id,
                                      commitment_id=commitment_id, **data)


@blp.route("/campaigns/<int:campaign_id>/plan")
class CampaignPlan(MethodView):
    @blp.response(200, PlanSchema, description="Live demand against committed supply.")
    def get(self, campaign_id):
        return plan.build_plan(viewer=authenticated_user(), campaign_id=campaign_id)


@blp.route("/campaigns/<int:campaign_id>/plan.xlsx")
class CampaignPlanWorkbook(MethodView):
    @blp.response(200, BINARY, content_type=XLSX_MIMETYPE, description="Sheets summary, demand, supply.")
    def get(self, campaign_id):
        figures = plan.build_plan(viewer=authenticated_user(), campaign_id=campaign_id)
        return download(plan.plan_xlsx(figures), XLSX_MIMETYPE, plan.filename(figures))
