from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.suppliers import vetting
from shop.suppliers.schemas import (CountyReviewerCreateSchema, CountyReviewerPageSchema, CountyReviewerQueryArgsSchema,
                                    CountyReviewerSchema, CountyReviewSchema, ReviewQueueArgsSchema,
                                    ReviewQueuePageSchema, SupplierSchema)

blp = Blueprint("county_review", __name__, url_prefix="/api/v1",
                description="The county step of supplier vetting: county reviewers recommend their district's "
                            "applicants before the platform approves them")


@blp.route("/county-reviewers")
class CountyReviewers(MethodView):
    @blp.arguments(CountyReviewerQueryArgsSchema, location="query")
    @blp.response(200, CountyReviewerPageSchema, description="Platform admins only (403 admin_only).")
    def get(self, args):
        return vetting.list_reviewers(actor=authenticated_user(), **args)

    @blp.arguments(CountyReviewerCreateSchema)
    @blp.response(201, CountyReviewerSchema, description="Platform admins only (403 admin_only).")
    @blp.alt_response(422, description="unknown_user, invalid_region (not a reservoir-area district).")
    @blp.alt_response(409, description="already_appointed: a reviewer serves one district; revoke first.")
    def post(self, data):
        return vetting.appoint_reviewer(actor=authenticated_user(), **data)


@blp.route("/county-reviewers/<int:reviewer_id>")
class CountyReviewerItem(MethodView):
    @blp.response(204, description="Platform admins only (403 admin_only).")
    def delete(self, reviewer_id):
        vetting.revoke_reviewer(actor=authenticated_user(), reviewer_id=reviewer_id)


@blp.route("/county-review/queue")
class CountyReviewQueue(MethodView):
    @blp.arguments(ReviewQueueArgsSchema, location="query")
    @blp.response(200, ReviewQueuePageSchema,
                  description="The applicants of the caller's district, oldest first. County reviewers only "
                              "(403 role_required, required_role county_reviewer).")
    def get(self, args):
        return vetting.review_queue(user=authenticated_user(), **args)


@blp.route("/suppliers/<int:supplier_id>/county-review")
class SupplierCountyReview(MethodView):
    @blp.arguments(CountyReviewSchema)
    @blp.response(200, SupplierSchema,
                  description="recommend: pending → recommended (the platform then approves); reject: pending → "
                              "rejected, reason required. Another district's applicant is 404.")
    @blp.alt_response(409, description="illegal_supplier_transition: the applicant is not pending.")
    @blp.alt_response(422, description="reason_required, validation_error.")
    def post(self, data, supplier_id):
        return vetting.county_review(user=authenticated_user(), supplier_id=supplier_id, **data)
