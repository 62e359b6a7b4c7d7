"""/showcase without a browser: a public Chinese page whose scripts all come from the app (CSP allows no
other and no inline script), ECharts served by the app with a long cache, the refresh interval set per
screen, and the statistics period."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from shop.showcase.routes import statistics_period
from tests.support import assert_problem


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.inline_scripts, self.handlers, self.body, self.title = [], [], [], {}, ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(attrs.get("src"))
        if tag == "body":
            self.body = attrs
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script" and data.strip():
            self.inline_scripts.append(data)
        if self._in == "title":
            self.title += data


def _parsed(response) -> _Page:
    page = _Page()
    page.feed(response.get_data(as_text=True))
    return page


def _csp(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def test_the_page_is_public_html_in_chinese_with_only_the_apps_own_scripts(client):
    response = client.get("/showcase")
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = _parsed(response)
    assert page.title == "三峡库区对口支援消费帮扶成果展示"
    assert page.inline_scripts == [] and page.handlers == []
    assert len(page.scripts) == 2 and all(src and src.startswith("/showcase/") for src in page.scripts)
    for src in page.scripts:
        script = client.get(src)
        assert script.status_code == 200, (src, "ECharts comes from `npm ci` (make setup)")
        assert script.mimetype == "text/javascript"
    assert re.fullmatch(r"/showcase/assets/echarts-\d+\.\d+\.\d+/echarts\.min\.js", page.scripts[0])
    assert page.body["data-api"] == "/api/v1"


def test_echarts_is_served_by_the_app_with_a_long_cache_and_its_version_in_the_url(client):
    src = _parsed(client.get("/showcase")).scripts[0]
    response = client.get(src)
    assert response.status_code == 200 and b"echarts" in response.data[:2000].lower()
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get(src.replace("echarts.min.js", "no-such-file.js")).status_code == 404
    own = client.get("/showcase/static/showcase.js")  # unversioned: revalidated, never served stale
    assert own.status_code == 200 and "max-age=31536000" not in (own.headers.get("Cache-Control") or "")


def test_the_refresh_interval_comes_from_the_config_or_the_screens_url(app, client, monkeypatch):
    assert _parsed(client.get("/showcase")).body["data-refresh-seconds"] == str(app.config["SHOWCASE_REFRESH_SECONDS"])
    assert _parsed(client.get("/showcase?refresh=5")).body["data-refresh-seconds"] == "5"
    monkeypatch.setitem(app.config, "SHOWCASE_REFRESH_SECONDS", 90)
    assert _parsed(client.get("/showcase")).body["data-refresh-seconds"] == "90"


@pytest.mark.parametrize("value", ["0", "3601", "abc", "1.5", "-5", "", "６０", "99999999999999999999"])
def test_a_bad_refresh_interval_is_422_naming_the_parameter(client, value):
    body = assert_problem(client.get(f"/showcase?refresh={value}"), 422, "validation_error")
    assert list(body["errors"]) == ["refresh"]


def test_demo_figures_are_marked_when_the_config_says_so(app, client, monkeypatch):
    assert _parsed(client.get("/showcase")).body["data-demo"] == "0"
    monkeypatch.setitem(app.config, "SHOWCASE_DEMO", True)
    assert _parsed(client.get("/showcase")).body["data-demo"] == "1"


@pytest.mark.parametrize("today,start", [
    (dt.date(2026, 12, 4), dt.date(2026, 1, 1)),
    (dt.date(2027, 1, 31), dt.date(2026, 2, 1)),
    (dt.date(2026, 11, 1), dt.date(2025, 12, 1)),
])
def test_the_period_is_the_last_twelve_calendar_months_up_to_today(today, start):
    assert statistics_period(today) == (start, today)


def test_the_page_states_its_period_in_china_and_asks_the_api_for_it(client):
    body = _parsed(client.get("/showcase")).body
    today_in_china = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()
    assert (dt.date.fromisoformat(body["data-from"]), dt.date.fromisoformat(body["data-to"])) == \
        statistics_period(today_in_china)


@pytest.mark.parametrize("required,outcome", [("1", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_without_chromium_the_browser_test_skips_with_its_reason_unless_ci_requires_it(monkeypatch, required,
                                                                                        outcome, tmp_path):
    from tests.showcase import conftest

    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("REQUIRE_BROWSER", required)
    with pytest.raises(outcome, match="no-chromium is absent: run scripts/install_browser.sh"):
        conftest.skip_or_fail_without_browser()
