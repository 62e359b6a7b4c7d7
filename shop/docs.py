"""Swagger UI assets served by the app itself (from the flask-swagger-ui wheel): /api/docs works offline."""
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint

ASSET_DIR = Path(flask_swagger_ui.__file__).parent / "dist"

assets = Blueprint("docs_assets", __name__, static_folder=str(ASSET_DIR), static_url_path="/api/docs/assets")
