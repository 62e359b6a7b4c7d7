from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user, public
from shop.checkout import error_codes as checkout_codes
from shop.error_codes import ADMIN_ONLY, documents
from shop.presale import campaigns as services
from shop.presale import error_codes as codes
from shop.presale import cancellation, closing, compensation, harvest, pledges
from shop.procurement import error_codes as procurement_codes
from shop.presale.schemas import (AllocateSchema, AllocationSchema, CampaignCreateSchema, CompensationPayoutSchema,
                                  CompensationSchema, CampaignEventSchema, CampaignPageSchema,
                                  CampaignQueryArgsSchema, CampaignSchema, CampaignUpdateSchema, PledgeCreateSchema,
                                  PledgeHeadersSchema, PledgeReduceSchema, PledgeResultSchema, PledgeSchema,
                                  ReasonSchema)

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1",
                description="以销定产 pre-sale campaigns: a supplier sells a coming harvest against deposits, within "
                            "a capacity. Drafts exist only for the supplier's members (404 for anyone else).")

TERMS = (codes.DEPOSIT_TOO_HIGH, codes.INVALID_PROMISE, codes.INVALID_WINDOW, codes.OUTSIDE_SALE_MONTHS,
         codes.INVALID_QUANTITIES, codes.UNKNOWN_SKU)


def viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


@blp.route("/campaigns")
class Campaigns(MethodView):
    @blp.arguments(CampaignQueryArgsSchema, location="query")
    @blp.response(200, CampaignPageSchema, description="Newest first; drafts and suspended campaigns only for "
                                                       "the supplier's members.")
    @public
    def get(self, args):
        return services.list_campaigns(viewer=viewer(), **args)

    @documents(*TERMS)
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema, description="A draft, by a manager or owner of the lead supplier.")
    def post(self, data):
        return services.create_campaign(user=authenticated_user(), **data)


@blp.route("/campaigns/<int:campaign_id>")
class CampaignItem(MethodView):
    @blp.response(200, CampaignSchema)
    @public
    def get(self, campaign_id):
        return services.view_campaign(viewer=viewer(), campaign_id=campaign_id)

    @documents(*TERMS, codes.NOT_A_DRAFT)
    @blp.arguments(CampaignUpdateSchema, required=False)
    @blp.response(200, CampaignSchema, description="Drafts only, by the supplier's managers.")
    def patch(self, changes, campaign_id):
        return services.update_campaign(user=authenticated_user(), campaign_id=campaign_id, changes=changes)


@blp.route("/campaigns/<int:campaign_id>/open")
class CampaignOpen(MethodView):
    @documents(codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED, codes.WINDOW_PASSED,
               codes.PRODUCT_NOT_ON_SALE)
    @blp.response(200, CampaignSchema, description="draft → open; pledges are taken from opens_at to closes_at.")
    def post(self, campaign_id):
        return services.open_campaign(user=authenticated_user(), campaign_id=campaign_id)


@blp.route("/campaigns/<int:campaign_id>/cancel")
class CampaignCancel(MethodView):
    @documents(codes.REASON_REQUIRED, codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED)
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignSchema, description="The supplier, before allocation: every pledge's order is "
                                                   "cancelled and what it paid refunded.")
    def post(self, data, campaign_id):
        return cancellation.cancel_campaign(user=authenticated_user(), campaign_id=campaign_id, **data)


@blp.route("/campaigns/<int:campaign_id>/close")
class CampaignClose(MethodView):
    @documents(codes.WINDOW_OPEN, codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED)
    @blp.response(200, CampaignSchema, description="The lead supplier's managers, once the order window has ended "
                                                   "(the job `flask shop close-campaigns` does it otherwise): unpaid "
                                                   "pledges are cancelled; succeeded when the paid pledges reach the "
                                                   "minimum, else failed and every pledge refunded.")
    def post(self, campaign_id):
        return closing.close_now(user=authenticated_user(), campaign_id=campaign_id)


@blp.route("/campaigns/<int:campaign_id>/allocate")
class CampaignAllocate(MethodView):
    @documents(codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED)
    @blp.arguments(AllocateSchema)
    @blp.response(200, AllocationSchema, description="The lead supplier's managers, once the campaign succeeded: the "
                                                     "harvest is shared in whole units under the campaign's policy "
                                                     "(all filled when it covers demand); the deposit of units not "
                                                     "allotted is refunded, each order cut to its allotment and its "
                                                     "balance asked by balance_due_at. Reproducible: the same pledges "
                                                     "and harvest give the same result.")
    def post(self, data, campaign_id):
        return harvest.allocate_harvest(user=authenticated_user(), campaign_id=campaign_id, **data)


@blp.route("/campaigns/<int:campaign_id>/allocation")
class CampaignAllocation(MethodView):
    @blp.response(200, AllocationSchema, description="The lead supplier's managers: each pledge's allotment, reason, "
                                                     "refund and the balance it still owes.")
    def get(self, campaign_id):
        return harvest.view_allocation(user=authenticated_user(), campaign_id=campaign_id)


@blp.route("/campaigns/<int:campaign_id>/suspend")
class CampaignSuspend(MethodView):
    @documents(ADMIN_ONLY, codes.REASON_REQUIRED, codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED)
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignSchema, description="Platform admins: a live campaign is taken off the shop.")
    def post(self, data, campaign_id):
        return services.suspend_campaign(actor=authenticated_user(), campaign_id=campaign_id, **data)


@blp.route("/campaigns/<int:campaign_id>/reinstate")
class CampaignReinstate(MethodView):
    @documents(ADMIN_ONLY, codes.ILLEGAL_CAMPAIGN_TRANSITION, codes.CAMPAIGN_STATE_CHANGED)
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignSchema, description="Platform admins: back to the state it was suspended from.")
    def post(self, data, campaign_id):
        return services.reinstate_campaign(actor=authenticated_user(), campaign_id=campaign_id, **data)


@blp.route("/campaigns/<int:campaign_id>/events")
class CampaignEvents(MethodView):
    @blp.response(200, CampaignEventSchema(many=True), description="The supplier's members and platform admins.")
    def get(self, campaign_id):
        return services.list_events(viewer=authenticated_user(), campaign_id=campaign_id)


@blp.route("/campaigns/<int:campaign_id>/pledges")
class CampaignPledges(MethodView):
    @blp.response(200, PledgeSchema(many=True), description="The caller's own pledges on the campaign.")
    def get(self, campaign_id):
        return pledges.list_my_pledges(user=authenticated_user(), campaign_id=campaign_id)

    @documents(codes.CAMPAIGN_CLOSED, codes.CAMPAIGN_FULL, codes.PER_BUYER_LIMIT, checkout_codes.UNAVAILABLE,
               checkout_codes.INVALID_QUANTITY, checkout_codes.UNDELIVERABLE, checkout_codes.ORDER_TOO_LARGE,
               checkout_codes.RETURN_CONFIRMATION_REQUIRED, checkout_codes.IDEMPOTENCY_KEY_REUSED,
               codes.ORGANIZATION_REQUIRED, procurement_codes.ORGANIZATION_NOT_APPROVED,
               procurement_codes.ORGANIZATION_SUSPENDED, procurement_codes.NO_PAYMENT_TERMS,
               procurement_codes.OVERDUE_INVOICES, procurement_codes.OVER_SPENDING_LIMIT,
               procurement_codes.SPECIAL_FAPIAO_NEEDS_TAXPAYER_ID)
    @blp.arguments(PledgeHeadersSchema, location="headers")
    @blp.arguments(PledgeCreateSchema)
    @blp.response(201, PledgeResultSchema, description="A presale order at the campaign's price; its deposit (or "
                                                       "full price) PaymentIntent is opened (none on terms). The same "
                                                       "Idempotency-Key with the same body answers the same pledge.")
    def post(self, headers, data, campaign_id):
        return pledges.pledge(user=authenticated_user(), campaign_id=campaign_id,
                              idempotency_key=headers["idempotency_key"], **data)


@blp.route("/campaigns/<int:campaign_id>/pledges/<int:order_id>/reduce")
class PledgeReduce(MethodView):
    @documents(codes.CAMPAIGN_CLOSED, codes.PLEDGE_RELEASED, codes.NOT_A_REDUCTION, codes.PLEDGE_UNPAID)
    @blp.arguments(PledgeReduceSchema)
    @blp.response(200, PledgeResultSchema, description="While the campaign is open: the units dropped go back and "
                                                       "what was paid for them is refunded.")
    def post(self, data, campaign_id, order_id):
        return pledges.reduce(user=authenticated_user(), campaign_id=campaign_id, order_id=order_id, **data)


@blp.route("/campaigns/<int:campaign_id>/pledges/<int:order_id>/withdraw")
class PledgeWithdraw(MethodView):
    @documents(codes.CAMPAIGN_CLOSED, codes.PLEDGE_RELEASED)
    @blp.response(200, PledgeResultSchema, description="While the campaign is open: the units go back and "
                                                       "anything paid is refunded.")
    def post(self, campaign_id, order_id):
        return pledges.withdraw(user=authenticated_user(), campaign_id=campaign_id, order_id=order_id)


@blp.route("/campaigns/<int:campaign_id>/compensations")
class CampaignCompensations(MethodView):
    @blp.response(200, CompensationSchema(many=True), description="What a cancelled campaign's promise owes its "
                                                                  "buyers beyond their refunds: the buyer sees their "
                                                                  "own; the supplier's members and admins all.")
    def get(self, campaign_id):
        return compensation.list_compensations(viewer=authenticated_user(), campaign_id=campaign_id)


@blp.route("/compensations/<int:compensation_id>/pay")
class CompensationPay(MethodView):
    @documents(ADMIN_ONLY, codes.COMPENSATION_PAID)
    @blp.arguments(CompensationPayoutSchema)
    @blp.response(200, CompensationSchema, description="Platform admins: the compensation was sent to the buyer "
                                                       "by bank transfer; recorded once, with the bank's reference.")
    def post(self, data, compensation_id):
        return compensation.record_payout(actor=authenticated_user(), compensation_id=compensation_id, **data)
