"""Configuration read from the environment.

SQLite under instance/ is the embedded default; PostgreSQL (psycopg 3) via DATABASE_URL in production.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-not-secret"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def limiter_storage_uri(redis_url: str | None) -> str:
    """Flask-Limiter's name for the same Redis: `limits` spells a unix socket redis+unix://, redis-py unix://."""
    if not redis_url:
        return "memory://"
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def limiter_storage_options(redis_url: str | None) -> dict:
    """Bounded waits on Redis: a hung server slows each request by at most this, then the limiter falls back."""
    return {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if redis_url else {}


def engine_options(url: str) -> dict:
    """SQLAlchemy engine options for PostgreSQL: psycopg 3 behind SQLAlchemy's own QueuePool (the pool
    Flask-SQLAlchemy creates; one per process, so gunicorn workers never share a socket), with pre-ping so a
    connection the server dropped (a restart, an idle timeout) is replaced before a request uses it rather than
    failing that request. SQLite keeps its own setup (shop.database.configure_sqlite): no options (its in-memory
    pool takes no pool_size)."""
    if not url.startswith("postgresql"):
        return {}
    return {
        "pool_pre_ping": _bool("DB_POOL_PRE_PING", True),
        "pool_size": int(os.environ.get("DB_POOL_SIZE", 5)),  # per process: gthread threads share it
        "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", 10)),
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", 1800)),  # seconds; below common idle cut-offs
        "pool_timeout": int(os.environ.get("DB_POOL_TIMEOUT", 10)),  # seconds waiting for a free connection
    }


def default_sqlite_url() -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / 'shop.db'}"


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("DATABASE_URL") or default_sqlite_url())
    # Extra engine options; create_app adds engine_options(the final URL) under them (a config subclass may
    # change the URL, so the pool is chosen once the URL is known).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Seconds a client is told to wait (Retry-After) when the database cannot be reached (503).
    DATABASE_RETRY_AFTER_SECONDS = int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", 2))
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024))  # 2 MiB, imports included
    JSON_AS_ASCII = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "shop_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Flask-Limiter: Redis when several processes serve, memory otherwise.
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = limiter_storage_uri(os.environ.get("REDIS_URL"))
    RATELIMIT_STORAGE_OPTIONS = limiter_storage_options(os.environ.get("REDIS_URL"))
    # Redis down: each process counts in its own memory (limits per process, not gone) until Redis answers again
    # (README, Production: what fails open and what fails closed).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "20 per hour")
    MEMBER_ADD_RATE_LIMIT = os.environ.get("MEMBER_ADD_RATE_LIMIT", "30 per hour")
    # Behind a load balancer: how many proxies' X-Forwarded-For to trust (0 = none), so that rate limits key
    # on the client's address and not the balancer's.
    TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))
    # https: answers carry HSTS (and url_for(_external=True) says https).
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    # The one browser origin (scheme://host[:port]) allowed to call /api/v1 cross-origin, with credentials.
    STOREFRONT_ORIGIN = os.environ.get("STOREFRONT_ORIGIN")
    # json: one JSON object per line (for log shippers); text: for people reading a terminal.
    LOG_FORMAT = os.environ.get("LOG_FORMAT") or "json"
    LOG_LEVEL = os.environ.get("LOG_LEVEL") or "INFO"  # of the shop.* loggers (one access line per request at INFO)

    # Argon2id at the OWASP minimum (m=19 MiB, t=2, p=1).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST_KIB = 19 * 1024
    ARGON2_PARALLELISM = 1

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    # Per request to Stripe (up to 3 tries in production): well inside a gunicorn worker's 30 s.
    STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", 5))
    STRIPE_PAYMENT_METHOD_TYPES = [t for t in os.environ.get("STRIPE_PAYMENT_METHOD_TYPES", "card").split(",") if t]
    UNPAID_ORDER_TTL_MINUTES = int(os.environ.get("UNPAID_ORDER_TTL_MINUTES", 30))
    AUTO_CONFIRM_DAYS = int(os.environ.get("AUTO_CONFIRM_DAYS", 10))
    # Pre-sale: days a buyer has to pay the balance after allocation (the supplier may set 1-30 per campaign),
    # and hours a top-up (units of forfeited pledges offered to a pledge that got less) stays open.
    PRESALE_BALANCE_DAYS = int(os.environ.get("PRESALE_BALANCE_DAYS", 7))
    PRESALE_TOP_UP_HOURS = int(os.environ.get("PRESALE_TOP_UP_HOURS", 48))
    MAX_UNPAID_ORDERS = int(os.environ.get("MAX_UNPAID_ORDERS", 10))  # per buyer: unpaid orders hold stock
    # Orders paid by bank transfer are not capped by a card charge; 64-bit money columns hold far more.
    MAX_TRANSFER_ORDER_FEN = int(os.environ.get("MAX_TRANSFER_ORDER_FEN", 5_000_000_000))  # 5,000 万元
    # Settlements: the platform's commission on a supplier's net goods sales, in basis points (500 = 5%), for
    # suppliers without a recorded rate (shop.settlements.figures).
    DEFAULT_COMMISSION_BPS = int(os.environ.get("DEFAULT_COMMISSION_BPS", 500))

    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 25))
    MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@sanxia-shop.invalid")

    # /showcase: seconds between its refreshes (?refresh= overrides per screen); SHOWCASE_DEMO=1 marks its
    # figures as demo data (the page also does when the data is the demo's: suppliers named （演示）).
    SHOWCASE_REFRESH_SECONDS = int(os.environ.get("SHOWCASE_REFRESH_SECONDS", 60))
    SHOWCASE_DEMO = _bool("SHOWCASE_DEMO", False)

    API_TITLE = "三峡库区特色产品展销中心 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"  # served by the app itself: the docs work offline
    # Every operation needs one of these unless it says `security: []` (shop.accounts.auth.public).
    API_SPEC_OPTIONS = {
        "security": [{"cookieAuth": []}, {"bearerAuth": []}],
        "components": {"securitySchemes": {
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "The session cookie of POST /api/v1/auth/login. Unsafe methods also "
                                          "need the X-CSRF-Token header with the csrf_token login returned."},
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A personal API token from POST /api/v1/auth/tokens (no CSRF header)."},
        }},
    }

    REFERENCE_DIR = BASE_DIR / "shop" / "regions" / "data"
    # Public statistics withhold a group with fewer distinct buyers than this (shop.assistance.suppression).
    ASSISTANCE_MIN_BUYERS = int(os.environ.get("ASSISTANCE_MIN_BUYERS", 3))


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    LOG_FORMAT = os.environ.get("LOG_FORMAT") or "text"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = False
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or "sk_test_localstripe"
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_localstripe_dev"


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + str(BASE_DIR / "instance" / "test.db")
    )
    ARGON2_MEMORY_COST_KIB = 19 * 1024
    LOGIN_RATE_LIMIT = "5 per minute"
    MAX_UNPAID_ORDERS = 1000  # tests place many orders per buyer; the limit itself has its own test
    REGISTER_RATE_LIMIT = "1000 per minute"
    LOG_LEVEL = "WARNING"  # no access line per request in a failing test's output (tests/test_request_log.py)
    STRIPE_SECRET_KEY = "sk_test_suite"
    STRIPE_WEBHOOK_SECRET = "whsec_test_suite"


class ProductionConfig(Config):
    ENV_NAME = "production"
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "https")  # served behind TLS: HSTS


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def config_from_env():
    # Secure by default: without SHOP_ENV the app is production and refuses to start without SECRET_KEY.
    return CONFIGS[os.environ.get("SHOP_ENV", "production")]
