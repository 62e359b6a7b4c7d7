from flask_smorest import Blueprint

from shop.procurement import models  # noqa: F401

blp = Blueprint("organizations", __name__, url_prefix="/api/v1",
                description="Institutional procurement: organisations, members, requisitions, invoices, quotas")
