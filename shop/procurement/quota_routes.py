"""Province minimums, annual quotas (预留份额) and statements (对账单) of organisations."""

from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.error_codes import ADMIN_ONLY, documents
from shop.pagination import PageArgsSchema
from shop.procurement import error_codes as procurement_errors
from shop.procurement import quotas, statement_export, statements
from shop.procurement.statement_schemas import (ProvinceQuotaMinimumPageSchema,
                                                ProvinceQuotaMinimumSchema, ProvinceQuotaMinimumUpdateSchema,
                                                QuotaFileSchema, QuotaPageSchema, QuotaSchema, StatementArgsSchema,
                                                StatementSchema)
from shop.spreadsheets import download

blp = Blueprint("quotas", __name__, url_prefix="/api/v1",
                description="Reserved shares of canteen food spending (预留份额) with their progress, province "
                            "minimums, and organisations' statements (对账单) as JSON, .xlsx and CSV")

BINARY = {"type": "string", "format": "binary"}


@blp.route("/quota-minimums")
class QuotaMinimums(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ProvinceQuotaMinimumPageSchema)
    def get(self, args):
        """Provinces whose minimum share is above the national 10% (anyone signed in)."""
        return quotas.list_minimums(**args)


@blp.route("/quota-minimums/<string(maxlength=12):region_code>")
class QuotaMinimum(MethodView):
    @documents(ADMIN_ONLY, procurement_errors.NOT_A_PROVINCE,
               procurement_errors.QUOTA_MINIMUM_CHANGED)
    @blp.arguments(ProvinceQuotaMinimumUpdateSchema)
    @blp.response(200, ProvinceQuotaMinimumSchema)
    def put(self, data, region_code):
        """Platform admins set a province's minimum share (at least the national 10%), citing its document.
        Organisations at home in the province or one of its cities file at least that share."""
        return quotas.set_minimum(actor=authenticated_user(), region_code=region_code, **data)


@blp.route("/organizations/<int:organization_id>/quotas")
class Quotas(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, QuotaPageSchema)
    def get(self, args, organization_id):
        """The filed years, newest first, with their progress (members, and platform admins)."""
        return quotas.list_quotas(viewer=authenticated_user(), organization_id=organization_id, **args)


@blp.route("/organizations/<int:organization_id>/quotas/<int:year>")
class QuotaItem(MethodView):
    @documents(procurement_errors.QUOTA_NOT_FOUND, procurement_errors.INVALID_QUOTA_YEAR)
    @blp.response(200, QuotaSchema)
    def get(self, organization_id, year):
        """The year's quota with its progress (members, and platform admins); years 2000 to 2100."""
        return quotas.get_quota(viewer=authenticated_user(), organization_id=organization_id, year=year)

    @documents(procurement_errors.NO_CANTEEN, procurement_errors.SHARE_BELOW_MINIMUM,
               procurement_errors.INVALID_QUOTA_YEAR)
    @blp.arguments(QuotaFileSchema)
    @blp.response(200, QuotaSchema)
    def put(self, data, organization_id, year):
        """File or re-file the year's canteen food spending and reserved share (admins of the organisation).
        The target is the spending times the share, rounded up to the fen. 409 no_canteen for an organisation
        without a canteen; 422 share_below_minimum (with minimum_share_bp) below the province's minimum."""
        return quotas.file_quota(user=authenticated_user(), organization_id=organization_id, year=year, **data)


def _statement(args, organization_id):
    return statements.build_statement(viewer=authenticated_user(), organization_id=organization_id, **args)


@blp.route("/organizations/<int:organization_id>/statements")
class Statement(MethodView):
    @documents(procurement_errors.INVALID_PERIOD)
    @blp.arguments(StatementArgsSchema, location="query")
    @blp.response(200, StatementSchema)
    def get(self, args, organization_id):
        """The statement of a period of local days (both ends included, at most 366, within the years 2000 to
        2100): the procurement orders
        placed in it (not those awaiting approval or rejected, nor those cancelled unpaid) with invoices and
        what is due or overdue, totals, breakdowns by district, supplier and category that add up to the
        totals, and the quota progress of each year the period touches. Approvers and admins of the organisation,
        and platform admins (buyers: 403 role_required; others: 404)."""
        return _statement(args, organization_id)


@blp.route("/organizations/<int:organization_id>/statements.xlsx")
class StatementWorkbook(MethodView):
    @documents(procurement_errors.INVALID_PERIOD)
    @blp.arguments(StatementArgsSchema, location="query")
    @blp.response(200, BINARY, content_type=statement_export.XLSX_MIMETYPE,
                  description="Sheets orders, by district, by supplier, by category, quota: amounts in fen and "
                              "in 元 (two decimals, computed from the fen).")
    def get(self, args, organization_id):
        """The statement as an .xlsx workbook: the same figures as the JSON, for the same readers."""
        statement = _statement(args, organization_id)
        return download(statement_export.statement_xlsx(statement), statement_export.XLSX_MIMETYPE,
                         statement_export.filename(statement, "xlsx"))


@blp.route("/organizations/<int:organization_id>/statements.csv")
class StatementCsv(MethodView):
    @documents(procurement_errors.INVALID_PERIOD)
    @blp.arguments(StatementArgsSchema, location="query")
    @blp.response(200, BINARY, content_type=statement_export.CSV_MIMETYPE,
                  description="The orders sheet as CSV, UTF-8 with a byte-order mark.")
    def get(self, args, organization_id):
        """The statement's orders as CSV: the same figures as the JSON, for the same readers."""
        statement = _statement(args, organization_id)
        return download(statement_export.statement_csv(statement), statement_export.CSV_MIMETYPE,
                         statement_export.filename(statement, "csv"))
