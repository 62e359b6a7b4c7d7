"""/showcase and its assets: plain Flask blueprints (HTML, not API operations: no OpenAPI entry, no login)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, url_for

from shop.database import local_today
from shop.errors import ValidationFailed
from shop.http_security import HTML_CSP

# `npm ci` (make setup) puts ECharts here; the app serves it itself, no CDN.
ECHARTS_DIST = Path(__file__).resolve().parents[2] / "node_modules" / "echarts" / "dist"
MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS = 1, 3600
ASSET_MAX_AGE = 365 * 24 * 3600  # the URL names the ECharts version, so a new version is a new URL
# The app's HTML policy (scripts only from the app itself, none inline), plus inline styles: ECharts positions
# and styles its tooltips with style attributes.
CONTENT_SECURITY_POLICY = f"{HTML_CSP}; script-src 'self'; style-src 'self' 'unsafe-inline'"


def echarts_version() -> str:
    try:
        return json.loads((ECHARTS_DIST.parent / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return "missing"  # npm ci has not run: the page says the chart library did not load


class _LongCacheBlueprint(Blueprint):
    def get_send_file_max_age(self, filename):
        return ASSET_MAX_AGE


assets = _LongCacheBlueprint("showcase_assets", __name__, static_folder=str(ECHARTS_DIST),
                             static_url_path=f"/showcase/assets/echarts-{echarts_version()}")
blp = Blueprint("showcase", __name__, url_prefix="/showcase", template_folder="templates",
                static_folder="static", static_url_path="/static")
BLUEPRINTS = (assets, blp)  # registered by create_app (shop.PAGE_MODULES)


def _refresh_seconds() -> int:
    raw = request.args.get("refresh")
    if raw is None:
        return current_app.config["SHOWCASE_REFRESH_SECONDS"]
    if not raw.isascii() or not raw.isdigit() or not MIN_REFRESH_SECONDS <= int(raw) <= MAX_REFRESH_SECONDS:
        message = f"Seconds between refreshes, {MIN_REFRESH_SECONDS} to {MAX_REFRESH_SECONDS}."
        raise ValidationFailed(message, errors={"refresh": [message]})
    return int(raw)


def statistics_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve calendar months up to today: a January screen still shows a year of trend."""
    month_index = today.year * 12 + today.month - 1 - 11
    return dt.date(month_index // 12, month_index % 12 + 1, 1), today


@blp.get("")
def page():
    start, end = statistics_period(local_today())
    return render_template(
        "showcase/index.html", period_from=start.isoformat(), period_to=end.isoformat(),
        refresh_seconds=_refresh_seconds(), demo=bool(current_app.config.get("SHOWCASE_DEMO")),
        echarts_url=url_for("showcase_assets.static", filename="echarts.min.js"))


@blp.after_request
def content_security_policy(response):
    # Runs before the app's shop.http_security.add_headers, which sets its defaults for the other headers.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
