from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.error_codes import ADMIN_ONLY, documents
from shop.pagination import PageArgsSchema
from shop.procurement import error_codes as codes
from shop.procurement import organizations as services
from shop.procurement.schemas import (OrganizationCreateSchema, OrganizationMemberCreateSchema,
                                      OrganizationMemberPageSchema, OrganizationMemberSchema,
                                      OrganizationMemberUpdateSchema, OrganizationPageSchema,
                                      OrganizationQueryArgsSchema, OrganizationReviewSchema, OrganizationSchema,
                                      OrganizationStatusEventSchema, OrganizationUpdateSchema, PaymentTermsSchema)

blp = Blueprint("organizations", __name__, url_prefix="/api/v1",
                description="Institutional buyers (采购单位): registration, platform review, payment terms, members. "
                            "A member of one organisation gets 404 for every other one.")


@blp.route("/organizations")
class Organizations(MethodView):
    @blp.arguments(OrganizationQueryArgsSchema, location="query")
    @blp.response(200, OrganizationPageSchema, description="The caller's organisations (platform admins: all).")
    def get(self, args):
        return services.list_organizations(viewer=authenticated_user(), **args)

    @documents(codes.CREDIT_CODE_TAKEN, codes.INVALID_HOME_REGION)
    @blp.arguments(OrganizationCreateSchema)
    @blp.response(201, OrganizationSchema, description="The caller becomes its admin; pending until reviewed.")
    def post(self, data):
        return services.register_organization(user=authenticated_user(), **data)


@blp.route("/organizations/<int:organization_id>")
class OrganizationItem(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, organization_id):
        return services.view_organization(viewer=authenticated_user(), organization_id=organization_id)

    @documents(codes.CREDIT_CODE_TAKEN, codes.INVALID_HOME_REGION, codes.LOCKED_AFTER_APPROVAL)
    @blp.arguments(OrganizationUpdateSchema, required=False)
    @blp.response(200, OrganizationSchema, description="Admins of the organisation. Editing a rejected "
                                                       "application submits it again.")
    def patch(self, changes, organization_id):
        return services.update_organization(user=authenticated_user(), organization_id=organization_id,
                                            changes=changes)


@blp.route("/organizations/<int:organization_id>/review")
class OrganizationReview(MethodView):
    @documents(ADMIN_ONLY, codes.REASON_REQUIRED, codes.ILLEGAL_ORGANIZATION_TRANSITION)
    @blp.arguments(OrganizationReviewSchema)
    @blp.response(200, OrganizationSchema, description="Platform admins only (403 admin_only).")
    def post(self, data, organization_id):
        return services.review_organization(organization_id=organization_id, actor=authenticated_user(), **data)


@blp.route("/organizations/<int:organization_id>/payment-terms")
class OrganizationTerms(MethodView):
    @documents(ADMIN_ONLY)
    @blp.arguments(PaymentTermsSchema)
    @blp.response(200, OrganizationSchema, description="Platform admins only (403 admin_only).")
    def put(self, data, organization_id):
        return services.set_payment_terms(organization_id=organization_id, actor=authenticated_user(), **data)


@blp.route("/organizations/<int:organization_id>/status-events")
class OrganizationStatusEvents(MethodView):
    @blp.response(200, OrganizationStatusEventSchema(many=True))
    def get(self, organization_id):
        return services.list_status_events(viewer=authenticated_user(), organization_id=organization_id)


@blp.route("/organizations/<int:organization_id>/members")
class OrganizationMembers(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, OrganizationMemberPageSchema)
    def get(self, args, organization_id):
        return services.list_members(viewer=authenticated_user(), organization_id=organization_id, **args)

    @documents(codes.UNKNOWN_USER, codes.ALREADY_MEMBER)
    @blp.arguments(OrganizationMemberCreateSchema)
    @blp.response(201, OrganizationMemberSchema, description="Admins of the organisation.")
    def post(self, data, organization_id):
        return services.add_member(user=authenticated_user(), organization_id=organization_id, **data)


@blp.route("/organizations/<int:organization_id>/members/<int:member_id>")
class OrganizationMemberItem(MethodView):
    @documents(codes.LAST_ADMIN, codes.OWN_LIMIT)
    @blp.arguments(OrganizationMemberUpdateSchema, required=False)
    @blp.response(200, OrganizationMemberSchema, description="Admins change roles and spending limits.")
    def patch(self, changes, organization_id, member_id):
        return services.change_member(user=authenticated_user(), organization_id=organization_id,
                                      member_id=member_id, changes=changes)

    @documents(codes.LAST_ADMIN)
    @blp.response(204, description="Admins remove members; every member may leave.")
    def delete(self, organization_id, member_id):
        services.remove_member(user=authenticated_user(), organization_id=organization_id, member_id=member_id)
