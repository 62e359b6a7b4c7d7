from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user, public
from shop.extensions import limiter
from shop.pagination import PageArgsSchema
from shop.suppliers import services
from shop.suppliers.schemas import (ShippingRuleSchema, ShippingRuleUpdateSchema, SupplierCreateSchema,
                                    SupplierMemberCreateSchema, SupplierMemberPageSchema, SupplierMemberSchema,
                                    SupplierMemberUpdateSchema,
                                    SupplierPublicPageSchema, SupplierPublicSchema, SupplierQueryArgsSchema,
                                    SupplierReviewSchema, SupplierSchema, SupplierStatusEventPageSchema,
                                    SupplierUpdateSchema)

blp = Blueprint("suppliers", __name__, url_prefix="/api/v1",
                description="Supplier enterprises: registration, review, members, shipping rules")


def _limit_key() -> str:
    """Per account when signed in, per client address otherwise."""
    return f"user:{current_user.id}" if current_user.is_authenticated else f"ip:{request.remote_addr}"


def _viewer():
    """The signed-in user, or None on public endpoints."""
    return current_user._get_current_object() if current_user.is_authenticated else None


@blp.route("/suppliers")
class Suppliers(MethodView):
    @blp.arguments(SupplierQueryArgsSchema, location="query")
    @blp.response(200, SupplierPublicPageSchema)
    @public
    def get(self, args):
        return services.list_suppliers(viewer=_viewer(), **args)

    @blp.arguments(SupplierCreateSchema)
    @blp.response(201, SupplierSchema)
    def post(self, data):
        return services.create_supplier(user=authenticated_user(), **data)


@blp.route("/suppliers/<int:supplier_id>")
class SupplierItem(MethodView):
    @blp.response(200, SupplierSchema,
                  description="Members and platform admins get every field; others the SupplierPublic fields.")
    @public
    def get(self, supplier_id):
        supplier, full = services.view_supplier(viewer=_viewer(), supplier_id=supplier_id)
        # A Response passes through flask-smorest as is: the viewer decides which shape is dumped.
        return jsonify((SupplierSchema() if full else SupplierPublicSchema()).dump(supplier))

    @blp.arguments(SupplierUpdateSchema, required=False)  # every field optional: an empty PATCH changes nothing
    @blp.response(200, SupplierSchema)
    def patch(self, changes, supplier_id):
        return services.update_supplier(user=authenticated_user(), supplier_id=supplier_id, changes=changes)


@blp.route("/suppliers/<int:supplier_id>/review")
class SupplierReview(MethodView):
    @blp.arguments(SupplierReviewSchema)
    @blp.response(200, SupplierSchema)
    def post(self, data, supplier_id):
        return services.review_supplier(actor=authenticated_user(), supplier_id=supplier_id, **data)


@blp.route("/suppliers/<int:supplier_id>/events")
class SupplierEvents(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SupplierStatusEventPageSchema)
    def get(self, args, supplier_id):
        return services.list_status_events(viewer=authenticated_user(), supplier_id=supplier_id, **args)


@blp.route("/suppliers/<int:supplier_id>/members")
class SupplierMembers(MethodView):
    # Adding answers whether an email has an account: bounded, so it is no enumeration oracle.
    decorators = [limiter.limit(lambda: current_app.config["MEMBER_ADD_RATE_LIMIT"], methods=["POST"],
                                key_func=_limit_key)]

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SupplierMemberPageSchema)
    def get(self, args, supplier_id):
        return services.list_members(viewer=authenticated_user(), supplier_id=supplier_id, **args)

    @blp.arguments(SupplierMemberCreateSchema)
    @blp.response(201, SupplierMemberSchema)
    def post(self, data, supplier_id):
        return services.add_member(user=authenticated_user(), supplier_id=supplier_id, **data)


@blp.route("/suppliers/<int:supplier_id>/members/<int:member_id>")
class SupplierMemberItem(MethodView):
    @blp.arguments(SupplierMemberUpdateSchema)
    @blp.response(200, SupplierMemberSchema,
                  description="Owners only (403 role_required); the member is notified. 409 last_owner when it "
                              "would leave the supplier without an owner.")
    def patch(self, data, supplier_id, member_id):
        return services.change_member_role(user=authenticated_user(), supplier_id=supplier_id,
                                           member_id=member_id, **data)

    @blp.response(204)
    def delete(self, supplier_id, member_id):
        services.remove_member(user=authenticated_user(), supplier_id=supplier_id, member_id=member_id)


@blp.route("/suppliers/<int:supplier_id>/shipping-rule")
class SupplierShippingRule(MethodView):
    @blp.response(200, ShippingRuleSchema)
    def get(self, supplier_id):
        return services.get_shipping_rule(viewer=authenticated_user(), supplier_id=supplier_id)

    @blp.arguments(ShippingRuleUpdateSchema)
    @blp.response(200, ShippingRuleSchema)
    def put(self, data, supplier_id):
        return services.set_shipping_rule(user=authenticated_user(), supplier_id=supplier_id, **data)
