from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.checkout import error_codes as checkout_codes
from shop.error_codes import ADMIN_ONLY, documents
from shop.orders import error_codes as order_codes
from shop.procurement import error_codes as codes
from shop.procurement import invoices, requisitions, standing_orders
from shop.procurement.schemas import (DecisionSchema, InvoicePageSchema, InvoiceQueryArgsSchema,
                                      RequisitionCreateSchema, RequisitionHeadersSchema, RequisitionPageSchema,
                                      RequisitionQueryArgsSchema, RequisitionSchema, StandingOrderCreateSchema,
                                      StandingOrderPageSchema, StandingOrderSchema, StandingOrderStatusSchema)
from shop.pagination import PageArgsSchema

blp = Blueprint("requisitions", __name__, url_prefix="/api/v1",
                description="Requisitions (采购申请): procurement orders placed for an organisation, approved above the "
                            "buyer's limit, paid by card or on terms against an invoice")

PLACING_CODES = (codes.ORGANIZATION_SUSPENDED, codes.ORGANIZATION_NOT_APPROVED, codes.NO_PAYMENT_TERMS,
                 codes.OVERDUE_INVOICES, codes.SPECIAL_FAPIAO_NEEDS_TAXPAYER_ID, checkout_codes.UNAVAILABLE,
                 checkout_codes.OUT_OF_SEASON, checkout_codes.INVALID_QUANTITY, checkout_codes.INSUFFICIENT_STOCK,
                 checkout_codes.UNDELIVERABLE, checkout_codes.DUPLICATE_SKU, checkout_codes.ORDER_TOO_LARGE,
                 checkout_codes.IDEMPOTENCY_KEY_REUSED)


@blp.route("/organizations/<int:organization_id>/requisitions")
class Requisitions(MethodView):
    @blp.arguments(RequisitionQueryArgsSchema, location="query")
    @blp.response(200, RequisitionPageSchema)
    def get(self, args, organization_id):
        return requisitions.list_requisitions(user=authenticated_user(), organization_id=organization_id, **args)

    @documents(*PLACING_CODES)
    @blp.arguments(RequisitionHeadersSchema, location="headers")
    @blp.arguments(RequisitionCreateSchema)
    @blp.response(201, RequisitionSchema)
    def post(self, headers, data, organization_id):
        """Place a requisition. Within the caller's spending limit it is approved at once (stock reserved, and on
        terms its invoice issued); above it, it waits for an approver. The same Idempotency-Key with the same
        body returns the same requisition."""
        return requisitions.place_requisition(user=authenticated_user(), organization_id=organization_id,
                                              idempotency_key=headers["idempotency_key"], **data)


@blp.route("/organizations/<int:organization_id>/requisitions/<int:order_id>")
class RequisitionItem(MethodView):
    @blp.response(200, RequisitionSchema)
    def get(self, organization_id, order_id):
        return requisitions.get_requisition(user=authenticated_user(), organization_id=organization_id,
                                            order_id=order_id)


@blp.route("/organizations/<int:organization_id>/requisitions/<int:order_id>/approve")
class RequisitionApprove(MethodView):
    @documents(codes.OWN_REQUISITION, codes.NOT_AWAITING_APPROVAL, codes.ORGANIZATION_SUSPENDED,
               codes.ORGANIZATION_NOT_APPROVED, codes.NO_PAYMENT_TERMS, codes.OVERDUE_INVOICES,
               checkout_codes.INSUFFICIENT_STOCK, order_codes.ORDER_STATE_CHANGED)
    @blp.arguments(DecisionSchema, required=False)
    @blp.response(200, RequisitionSchema, description="Approvers and admins, never for their own requisition.")
    def post(self, data, organization_id, order_id):
        return requisitions.approve_requisition(user=authenticated_user(), organization_id=organization_id,
                                                order_id=order_id, **data)


@blp.route("/organizations/<int:organization_id>/requisitions/<int:order_id>/reject")
class RequisitionReject(MethodView):
    @documents(codes.REASON_REQUIRED, codes.NOT_AWAITING_APPROVAL, order_codes.ORDER_STATE_CHANGED)
    @blp.arguments(DecisionSchema)
    @blp.response(200, RequisitionSchema, description="Approvers and admins; the comment is required.")
    def post(self, data, organization_id, order_id):
        return requisitions.reject_requisition(user=authenticated_user(), organization_id=organization_id,
                                               order_id=order_id, **data)


@blp.route("/organizations/<int:organization_id>/requisitions/<int:order_id>/withdraw")
class RequisitionWithdraw(MethodView):
    @documents(codes.NOT_AWAITING_APPROVAL, order_codes.ORDER_STATE_CHANGED)
    @blp.arguments(DecisionSchema, required=False)
    @blp.response(200, RequisitionSchema, description="The placer, or an approver, while it awaits approval. "
                                                      "Approved requisitions are cancelled as orders "
                                                      "(POST /orders/{id}/cancel).")
    def post(self, data, organization_id, order_id):
        return requisitions.withdraw_requisition(user=authenticated_user(), organization_id=organization_id,
                                                 order_id=order_id, **data)


@blp.route("/organizations/<int:organization_id>/invoices")
class OrganizationInvoices(MethodView):
    @blp.arguments(InvoiceQueryArgsSchema, location="query")
    @blp.response(200, InvoicePageSchema, description="Approvers and admins. Operators record the bank transfers "
                                                      "that pay them: POST /orders/{order_id}/bank-transfers.")
    def get(self, args, organization_id):
        return invoices.list_invoices(user=authenticated_user(), organization_id=organization_id, **args)


@blp.route("/invoices/overdue")
class OverdueInvoices(MethodView):
    @documents(ADMIN_ONLY)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, InvoicePageSchema, description="Platform admins: every overdue invoice, oldest due first.")
    def get(self, args):
        return invoices.list_overdue(actor=authenticated_user(), **args)


@blp.route("/organizations/<int:organization_id>/standing-orders")
class StandingOrders(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StandingOrderPageSchema, description="Buyers see theirs; approvers and admins all.")
    def get(self, args, organization_id):
        return standing_orders.list_standing_orders(user=authenticated_user(), organization_id=organization_id,
                                                    **args)

    @documents(codes.INVALID_SCHEDULE, codes.ORGANIZATION_SUSPENDED, codes.ORGANIZATION_NOT_APPROVED,
               codes.NO_PAYMENT_TERMS, codes.OVERDUE_INVOICES, checkout_codes.UNAVAILABLE,
               checkout_codes.INVALID_QUANTITY, checkout_codes.DUPLICATE_SKU)
    @blp.arguments(StandingOrderCreateSchema)
    @blp.response(201, StandingOrderSchema, description="On the organisation's terms. Each period a job places it "
                                                        "as a requisition of the caller (approval as usual above "
                                                        "the caller's limit); a period it cannot place is skipped "
                                                        "with the reason, and the caller is told.")
    def post(self, data, organization_id):
        return standing_orders.create_standing_order(user=authenticated_user(), organization_id=organization_id,
                                                     **data)


@blp.route("/organizations/<int:organization_id>/standing-orders/<int:standing_order_id>")
class StandingOrderItem(MethodView):
    @blp.response(200, StandingOrderSchema)
    def get(self, organization_id, standing_order_id):
        return standing_orders.get_standing_order(user=authenticated_user(), organization_id=organization_id,
                                                  standing_order_id=standing_order_id)

    @documents(codes.STANDING_ORDER_ENDED)
    @blp.arguments(StandingOrderStatusSchema)
    @blp.response(200, StandingOrderSchema, description="Pause, resume or end (its buyer, or an approver).")
    def patch(self, data, organization_id, standing_order_id):
        return standing_orders.set_status(user=authenticated_user(), organization_id=organization_id,
                                          standing_order_id=standing_order_id, **data)
