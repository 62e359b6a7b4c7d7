"""create_app(): extensions, blueprints, error handlers, CLI. Nothing else."""
from __future__ import annotations

from flask import Flask


def create_app(config_object=None) -> Flask:
    from config import config_from_env, engine_options

    config_object = config_object or config_from_env()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_object)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
                                               **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set outside development.")
    app.json.ensure_ascii = False
    from shop.validators import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is registered

    if app.config.get("TRUSTED_PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    _init_extensions(app)
    _register_blueprints(app)

    from shop import cli

    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from shop import errors, http_security, request_log
    from shop.accounts import auth
    from shop.database import configure_sqlite, include_object
    from shop.extensions import api, db, limiter, migrate

    # Both put a before_request function first: the request id's ends up first of all, the CORS preflight next.
    http_security.init_app(app)
    request_log.init_app(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True,
                     compare_type=True, include_object=include_object)
    limiter.init_app(app)
    api.init_app(app)
    from flask_smorest.spec.plugins import integerconverter2paramschema

    from shop.validators import IdConverter

    api.register_converter(IdConverter, integerconverter2paramschema)
    errors.init_app(app)  # after api.init_app: replaces flask-smorest's error handler with problem+json
    auth.init_app(app)  # after errors: its CSRF and login checks run once the request id is set
    from shop.text_input import check_request_text

    app.before_request(check_request_text)  # after the login check: anonymous callers learn no field rules


BLUEPRINT_MODULES = (
    "shop.accounts.routes",
    "shop.regions.routes",
    "shop.suppliers.routes",
    "shop.suppliers.vetting_routes",
    "shop.catalog.routes",
    "shop.catalog.import_routes",
    "shop.catalog.gi_routes",
    "shop.addresses.routes",
    "shop.cart.routes",
    "shop.checkout.routes",
    "shop.orders.routes",
    "shop.orders.fulfillment_routes",
    "shop.payments.routes",
    "shop.refunds.routes",
    "shop.notifications.routes",
    "shop.procurement.routes",
    "shop.procurement.requisition_routes",
    "shop.procurement.quota_routes",
    "shop.fapiao.routes",
    "shop.presale.routes",
    "shop.presale.supply_routes",
    "shop.settlements.routes",
    "shop.health.routes",
    "shop.audit.routes",
    "shop.assistance.routes",
)


# Plain Flask blueprints (HTML pages, not API operations): registered on the app, outside the OpenAPI spec.
PAGE_MODULES = ("shop.showcase.routes",)


# Domains that react to other domains' signals without routes that would import them: imported so that their
# receivers are connected in every process (web, jobs, commands).
RECEIVER_MODULES = ("shop.assistance.attribution", "shop.settlements.ledger")


def _register_blueprints(app: Flask) -> None:
    import importlib

    from shop import docs
    from shop.extensions import api

    app.register_blueprint(docs.assets)
    for module_name in PAGE_MODULES:
        for blueprint in importlib.import_module(module_name).BLUEPRINTS:
            app.register_blueprint(blueprint)
    for module_name in BLUEPRINT_MODULES:
        api.register_blueprint(importlib.import_module(module_name).blp)
    for module_name in RECEIVER_MODULES:
        importlib.import_module(module_name)
