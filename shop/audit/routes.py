"""The operators' audit log, read-only: no operation edits or deletes an entry (PUT, PATCH, DELETE and POST
answer 405), and the database refuses to as well."""
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import authenticated_user
from shop.audit import reading
from shop.audit.actions import described
from shop.audit.schemas import AuditEntryPageSchema, AuditEntrySchema, AuditQueryArgsSchema
from shop.error_codes import ADMIN_ONLY, documents

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="Operators' audit log: every operator action with who, what, when, and the values "
                            "before and after. Platform admins only; append-only. Actions:\n" + described())


@blp.route("/audit-log")
class AuditLog(MethodView):
    @documents(ADMIN_ONLY)
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditEntryPageSchema, description="Newest first; filters combine.")
    def get(self, args):
        return reading.list_entries(actor=authenticated_user(), **args)


@blp.route("/audit-log/<int:entry_id>")
class AuditEntryItem(MethodView):
    @documents(ADMIN_ONLY)
    @blp.response(200, AuditEntrySchema)
    def get(self, entry_id):
        return reading.get_entry(actor=authenticated_user(), entry_id=entry_id)
