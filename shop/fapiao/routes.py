from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.error_codes import documents
from shop.fapiao import error_codes as fapiao_errors
from shop.fapiao import services
from shop.fapiao.schemas import (FapiaoIssueSchema, FapiaoQueryArgsSchema, FapiaoRecordPageSchema, FapiaoRecordSchema,
                                 OrganizationFapiaoQueryArgsSchema)

blp = Blueprint("fapiao", __name__, url_prefix="/api/v1",
                description="Fapiao per fulfilment: each supplier issues the fapiao of its own part of an order")

PDF_FILE = {"type": "string", "format": "binary"}


@blp.route("/fapiao")
class SupplierFapiao(MethodView):
    @documents(fapiao_errors.NOT_FOUND)
    @blp.arguments(FapiaoQueryArgsSchema, location="query")
    @blp.response(200, FapiaoRecordPageSchema)
    def get(self, args):
        """The fapiao requests of the caller's suppliers (supplier side), newest first"""
        return services.list_for_supplier(user=authenticated_user(), **args)


@blp.route("/fapiao/<int:fapiao_id>")
class FapiaoItem(MethodView):
    @documents(fapiao_errors.NOT_FOUND)
    @blp.response(200, FapiaoRecordSchema)
    def get(self, fapiao_id):
        """One fapiao, for its buyer, its organisation and its supplier"""
        return services.get_fapiao(user=authenticated_user(), fapiao_id=fapiao_id)


@blp.route("/fapiao/<int:fapiao_id>/issue")
class FapiaoIssue(MethodView):
    max_content_length = 3 * 1024 * 1024  # a 2 MiB PDF is 2.7 MiB in base64 (shop.text_input)

    @documents(fapiao_errors.NOT_FOUND, fapiao_errors.ROLE_REQUIRED, fapiao_errors.ALREADY_ISSUED,
               fapiao_errors.FAPIAO_CANCELLED, fapiao_errors.NOT_SHIPPED, fapiao_errors.TAXPAYER_ID_MISSING,
               fapiao_errors.ISSUED_ON_IN_FUTURE, fapiao_errors.ISSUED_BEFORE_ORDER,
               fapiao_errors.AMOUNT_ABOVE_INVOICEABLE, fapiao_errors.PDF_NOT_BASE64, fapiao_errors.NOT_A_PDF,
               fapiao_errors.PDF_TOO_LARGE, fapiao_errors.BODY_TOO_LARGE)
    @blp.arguments(FapiaoIssueSchema)
    @blp.response(200, FapiaoRecordSchema)
    def post(self, data, fapiao_id):
        """The supplier records the fapiao it issued for its shipped fulfilment (managers and owners), once"""
        return services.issue(user=authenticated_user(), fapiao_id=fapiao_id, **data)


@blp.route("/fapiao/<int:fapiao_id>/file")
class FapiaoFile(MethodView):
    @documents(fapiao_errors.NOT_FOUND, fapiao_errors.FILE_NOT_ATTACHED)
    @blp.response(200, PDF_FILE, content_type="application/pdf", description="The e-fapiao PDF as issued")
    def get(self, fapiao_id):
        """Download the attached PDF"""
        data, filename = services.get_file(user=authenticated_user(), fapiao_id=fapiao_id)
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@blp.route("/orders/<int:order_id>/fapiao")
class OrderFapiao(MethodView):
    @documents(fapiao_errors.NOT_FOUND)
    @blp.response(200, FapiaoRecordSchema(many=True))
    def get(self, order_id):
        """The fapiao of the buyer's own order, one per supplier"""
        return services.list_for_order(user=authenticated_user(), order_id=order_id)


@blp.route("/organizations/<int:organization_id>/fapiao")
class OrganizationFapiao(MethodView):
    @documents(fapiao_errors.NOT_FOUND)
    @blp.arguments(OrganizationFapiaoQueryArgsSchema, location="query")
    @blp.response(200, FapiaoRecordPageSchema)
    def get(self, args, organization_id):
        """An organisation's fapiao: approvers and admins see all, buyers those of their own orders"""
        return services.list_for_organization(user=authenticated_user(), organization_id=organization_id, **args)
