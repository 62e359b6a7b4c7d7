from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.catalog.exporter import XLSX_MIMETYPE
from shop.error_codes import ADMIN_ONLY, documents
from shop.settlements import error_codes as codes
from shop.settlements import services
from shop.settlements.schemas import (ClosedMonthSchema, CloseMonthSchema, CommissionRateCreateSchema,
                                      CommissionRateSchema, PayoutSchema, SettlementPageSchema,
                                      SettlementQueryArgsSchema, SettlementSchema)
from shop.spreadsheets import download

blp = Blueprint("settlements", __name__, url_prefix="/api/v1",
                description="Supplier settlements per calendar month (Asia/Shanghai): sales, refunds, shipping, the "
                            "platform's commission, compensations and the amount payable. Platform admins see all; "
                            "a supplier's members their own supplier's (anyone else: 404).")

BINARY = {"type": "string", "format": "binary"}


@blp.route("/settlements")
class Settlements(MethodView):
    @blp.arguments(SettlementQueryArgsSchema, location="query")
    @blp.response(200, SettlementPageSchema, description="Closed and paid settlements, newest month first.")
    def get(self, args):
        return services.list_settlements(viewer=authenticated_user(), **args)


@blp.route("/settlements/close")
class SettlementsClose(MethodView):
    @documents(ADMIN_ONLY, codes.MONTH_NOT_OVER, codes.MONTH_ALREADY_CLOSED)
    @blp.arguments(CloseMonthSchema)
    @blp.response(201, ClosedMonthSchema, description="Platform admins, once the month has ended: one closed "
                                                      "settlement per supplier with any money moved in it, its "
                                                      "figures frozen. Once per month.")
    def post(self, data):
        return services.close_month(actor=authenticated_user(), **data)


@blp.route("/settlements/<int:settlement_id>")
class SettlementItem(MethodView):
    @blp.response(200, SettlementSchema)
    def get(self, settlement_id):
        return services.get_settlement(viewer=authenticated_user(), settlement_id=settlement_id)


@blp.route("/settlements/<int:settlement_id>/statement.xlsx")
class SettlementStatement(MethodView):
    @blp.response(200, BINARY, content_type=XLSX_MIMETYPE,
                  description="Sheets summary, commission (per rate) and lines (every payment, refund and "
                              "compensation behind the figures): fen and 元.")
    def get(self, settlement_id):
        return download(*_workbook(settlement_id=settlement_id))


@blp.route("/settlements/<int:settlement_id>/pay")
class SettlementPay(MethodView):
    @documents(ADMIN_ONLY, codes.SETTLEMENT_PAID, codes.ILLEGAL_SETTLEMENT_TRANSITION)
    @blp.arguments(PayoutSchema)
    @blp.response(200, SettlementSchema, description="Platform admins: closed → paid with the bank's reference. "
                                                     "The same reference again changes nothing.")
    def post(self, data, settlement_id):
        return services.pay_settlement(actor=authenticated_user(), settlement_id=settlement_id, **data)


@blp.route("/suppliers/<int:supplier_id>/settlements/<string(maxlength=16):month>")
class SupplierMonth(MethodView):
    @blp.response(200, SettlementSchema, description="The month as it stands: computed live while it is open "
                                                     "(id null), the frozen settlement once it is closed.")
    def get(self, supplier_id, month):
        return services.view_month(viewer=authenticated_user(), supplier_id=supplier_id, month=month)


@blp.route("/suppliers/<int:supplier_id>/settlements/<string(maxlength=16):month>/statement.xlsx")
class SupplierMonthStatement(MethodView):
    @blp.response(200, BINARY, content_type=XLSX_MIMETYPE, description="The month's statement as it stands.")
    def get(self, supplier_id, month):
        return download(*_workbook(supplier_id=supplier_id, month=month))


def _workbook(**where):
    data, name = services.statement_workbook(viewer=authenticated_user(), **where)
    return data, XLSX_MIMETYPE, name


@blp.route("/suppliers/<int:supplier_id>/commission-rates")
class CommissionRates(MethodView):
    @blp.response(200, CommissionRateSchema(many=True), description="The rate history, oldest first; before the "
                                                                    "first, the configured default applies.")
    def get(self, supplier_id):
        return services.list_rates(viewer=authenticated_user(), supplier_id=supplier_id)

    @documents(ADMIN_ONLY, codes.RATE_IN_CLOSED_MONTH)
    @blp.arguments(CommissionRateCreateSchema)
    @blp.response(201, CommissionRateSchema, description="Platform admins: a new rate from a day on (history "
                                                         "kept), not in a closed month.")
    def post(self, data, supplier_id):
        return services.add_rate(actor=authenticated_user(), supplier_id=supplier_id, **data)
