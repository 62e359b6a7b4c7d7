from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from shop.accounts.auth import authenticated_user, public
from shop.assistance import error_codes as codes
from shop.assistance import offices, services
from shop.assistance.schemas import (CampaignResultPageSchema, CampaignResultsArgsSchema, ExportArgsSchema,
                                     OfficeCreateSchema, OfficePageSchema, OfficeQueryArgsSchema, OfficeSchema,
                                     StatsArgsSchema, StatsSchema)
from shop.error_codes import ADMIN_ONLY, documents
from shop.spreadsheets import download

blp = Blueprint("assistance", __name__, url_prefix="/api/v1/assistance",
                description="消费帮扶 counterpart-support results: what the reservoir districts sold, how much of it "
                            "the supporting provinces and cities bought through their pairs, and the pre-sale "
                            "campaigns' results. Public figures never identify a buyer (small-group suppression).")

BINARY = {"type": "string", "format": "binary"}
SELECTION_CODES = (codes.INVALID_PERIOD, codes.UNKNOWN_CATEGORY, codes.INVALID_REGION)


def viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


@blp.route("/stats")
class Stats(MethodView):
    @documents(*SELECTION_CODES, codes.RAW_FOR_OPERATORS)
    @blp.arguments(StatsArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, StatsSchema, description=(
        "Net paid − refunded fen and net units of the attributed order lines (shipping excluded), summed over the "
        "entries dated in the period, grouped one way. Small-group suppression: a group that is not zero and has "
        "fewer than `min_buyers` distinct buyers (an institution counts as its organisation) has null amount and "
        "quantity and `suppressed: true`, its money goes to `withheld`; when that would leave a single group "
        "recoverable as total − the rest, the smallest other groups are withheld too, until the withheld groups "
        "are at least two with at least `min_buyers` buyers together. `total` includes everything. Withheld items "
        "come last, by key. raw=true (platform administrators; 401 signed out) skips suppression. Finished months are "
        "read from an exact monthly rollup (`flask shop refresh-assistance-rollup`), the rest from the entries."))
    @public
    def get(self, args):
        """Counterpart-support statistics (public)."""
        return services.public_statistics(viewer=viewer(), args=args)


@blp.route("/campaigns")
class CampaignResults(MethodView):
    @blp.arguments(CampaignResultsArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, CampaignResultPageSchema, description="Newest first; neither drafts nor suspended "
                                                             "campaigns.")
    @public
    def get(self, args):
        """Pre-sale campaign results: pledged, allocated, delivered, paid (public)."""
        return services.campaign_results(**args)


@blp.route("/export")
class Export(MethodView):
    @documents(*SELECTION_CODES, codes.EXPORT_FORBIDDEN, codes.OUTSIDE_OFFICE_REGION)
    @blp.arguments(ExportArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, BINARY, content_type="application/octet-stream", description=(
        "Raw figures (no suppression), sums only, no buyer identities. Platform administrators: everything. "
        "Members of a supporter office: the pairs whose supporter is their office's region or inside it (a "
        "`supporter` filter outside it: 403). xlsx: sheets summary (the items, with each group's number of "
        "buyers), detail (per group, buyer kind and product), about. csv: the detail rows, UTF-8 with a BOM. "
        "Amounts in fen and 元; text never runs as a formula."))
    def get(self, args):
        """Export the statistics as .xlsx or CSV (operators, supporter offices)."""
        return download(*services.export(user=authenticated_user(), args=args))


@blp.route("/offices")
class Offices(MethodView):
    @documents(ADMIN_ONLY)
    @blp.arguments(OfficeQueryArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, OfficePageSchema, description="Platform administrators: the supporter-office memberships.")
    def get(self, args):
        return offices.list_offices(actor=authenticated_user(), **args)

    @documents(ADMIN_ONLY, codes.UNKNOWN_USER, codes.INVALID_REGION, codes.DUPLICATE_OFFICE)
    @blp.arguments(OfficeCreateSchema)
    @blp.response(201, OfficeSchema, description="Platform administrators: the user joins the office of a "
                                                 "supporting region and may export its pairs' figures.")
    def post(self, data):
        return offices.grant(actor=authenticated_user(), **data)


@blp.route("/offices/<int:office_id>")
class OfficeItem(MethodView):
    @documents(ADMIN_ONLY)
    @blp.response(204, description="Platform administrators: the membership ends (the row is deleted).")
    def delete(self, office_id):
        offices.revoke(actor=authenticated_user(), office_id=office_id)
