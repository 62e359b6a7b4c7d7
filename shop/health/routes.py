"""Outside /api/v1 and the API's version: what a load balancer polls. No login, no CSRF, no rate limit."""
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts.auth import public
from shop.error_codes import documents
from shop.extensions import limiter
from shop.health import error_codes as codes
from shop.health import services
from shop.health.schemas import LivenessSchema, ReadinessSchema

blp = Blueprint("health", __name__, url_prefix="",
                description="Liveness and readiness probes for load balancers (outside /api/v1).")
limiter.exempt(blp)


@blp.route("/healthz")
class Liveness(MethodView):
    csrf_exempt = True

    @blp.response(200, LivenessSchema, description="The process answers; nothing else is checked (no database), "
                                                   "so a database outage does not get every process restarted.")
    @public
    def get(self):
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    csrf_exempt = True

    @documents(codes.NOT_READY)
    @blp.response(200, ReadinessSchema, description="The database answers a query: send this process traffic. "
                                                    "`status` is `degraded` when the configured Redis does not "
                                                    "answer PING (rate limits per process, jobs wait), `ready` "
                                                    "otherwise.")
    @public
    def get(self):
        return services.readiness()
