from flask.views import MethodView
from flask_smorest import Blueprint

from shop.refunds import error_codes as refund_errors
from shop.error_codes import documents
from shop.accounts.auth import authenticated_user
from shop.refunds import requests, services
from shop.refunds.schemas import (OperatorRefundSchema, RefundDecisionSchema, RefundPageSchema,
                                  RefundQueryArgsSchema, RefundRequestSchema, RefundSchema, RefundTransferSchema)

blp = Blueprint("refunds", __name__, url_prefix="/api/v1",
                description="Refunds: split over the order's lines and shipping, drawn from its payments")


@blp.route("/orders/<int:order_id>/refunds")
class OrderRefunds(MethodView):
    @blp.response(200, RefundSchema(many=True))
    def get(self, order_id):
        return services.list_order_refunds(user=authenticated_user(), order_id=order_id)

    @documents(refund_errors.NOT_DELIVERED, refund_errors.NOT_RETURNABLE, refund_errors.RETURN_WINDOW_CLOSED, refund_errors.REFUND_EXCEEDS_PAID, refund_errors.PHOTOS_REQUIRED, refund_errors.INVALID_LINE, refund_errors.INVALID_QUANTITY)
    @blp.arguments(RefundRequestSchema)
    @blp.response(201, RefundSchema(many=True))
    def post(self, data, order_id):
        """Ask for a refund after delivery; one request per supplier whose lines are named."""
        return requests.request_refund(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/orders/<int:order_id>/operator-refunds")
class OperatorRefunds(MethodView):
    @documents(refund_errors.REFUND_EXCEEDS_PAID)
    @blp.arguments(OperatorRefundSchema)
    @blp.response(201, RefundSchema)
    def post(self, data, order_id):
        """Platform operators: refund an amount, spread over the order's lines and shipping."""
        return services.operator_refund(user=authenticated_user(), order_id=order_id, **data)


@blp.route("/refunds")
class SupplierRefunds(MethodView):
    @blp.arguments(RefundQueryArgsSchema, location="query")
    @blp.response(200, RefundPageSchema)
    def get(self, args):
        """Refund requests on the lines of the caller's suppliers."""
        return services.list_supplier_refunds(user=authenticated_user(), **args)


@blp.route("/refunds/<int:refund_id>/decision")
class RefundDecision(MethodView):
    @documents(refund_errors.REFUND_ALREADY_DECIDED, refund_errors.REFUND_STATE_CHANGED, refund_errors.REFUND_EXCEEDS_REQUEST)
    @blp.arguments(RefundDecisionSchema)
    @blp.response(200, RefundSchema)
    def post(self, data, refund_id):
        return services.decide_refund(user=authenticated_user(), refund_id=refund_id, **data)


@blp.route("/refunds/<int:refund_id>/transfers")
class RefundTransfers(MethodView):
    @documents(refund_errors.REFUND_PART_NOT_AWAITING_TRANSFER, refund_errors.REFUND_STATE_CHANGED)
    @blp.arguments(RefundTransferSchema)
    @blp.response(200, RefundSchema)
    def post(self, data, refund_id):
        """Platform operators: a bank-transfer part of the refund was sent back; record the bank's reference."""
        return services.record_refund_transfer(user=authenticated_user(), refund_id=refund_id, **data)
