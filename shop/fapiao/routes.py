from flask_smorest import Blueprint

from shop.fapiao import models  # noqa: F401

blp = Blueprint("fapiao", __name__, url_prefix="/api/v1", description="Fapiao per fulfilment")
