"""/showcase in headless Chromium with the demo data, served on a real loopback port: every chart is drawn
with the figures the APIs give this test, the page refreshes by itself, nothing goes to the console, and it
fits a wall screen and a phone (screenshots of both under test-artifacts/showcase/)."""
from __future__ import annotations

import json
import urllib.request

from sqlalchemy import select

from shop.accounts.models import User
from shop.demo import load_demo_data
from shop.extensions import db
from shop.presale import campaigns
from shop.presale.models import Campaign

STATS_PANELS = {"district": "chart-district", "supporter": "chart-supporter", "pair": "chart-pair",
                "month": "chart-month", "market": "chart-market"}
CHARTS = [*STATS_PANELS.values(), "chart-campaigns"]
STATS_PATH = "/api/v1/assistance/stats"

# What ECharts holds for a chart, without its formatter functions (which do not cross into Python).
OPTION_OF = """id => {
  const option = echarts.getInstanceByDom(document.getElementById(id)).getOption();
  const axis = a => (a || []).map(x => x.data || null);
  return {series: (option.series || []).map(s => ({name: s.name, type: s.type, data: s.data})),
          xAxis: axis(option.xAxis), yAxis: axis(option.yAxis), graphic: (option.graphic || []).length};
}"""


def _get(base: str, path: str):
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.load(response)


def _yuan(fen):
    return "-" if fen is None else fen / 100  # "-" is ECharts' empty value: a suppressed figure has no bar


def _wait_for_round(page, round_: int, ids=CHARTS):
    page.wait_for_function(f"""() => Number(document.body.dataset.refreshCount) >= {round_} && {json.dumps(ids)}
        .every(id => document.getElementById(id).dataset.settled === document.getElementById(id).dataset.rendered)""")


def _assert_campaign_chart(page, expected: list[dict]):
    option = page.evaluate(OPTION_OF, "chart-campaigns")
    assert option["yAxis"] == [[c["title"] for c in expected]]
    minimum, pledged = option["series"]
    assert (minimum["name"], pledged["name"]) == ("成团起订量", "已预订")
    assert minimum["data"] == [c["minimum_quantity"] for c in expected]
    assert pledged["data"] == [c["pledged_quantity"] for c in expected]


def _nothing_shown(stats) -> bool:
    return not any(not i["suppressed"] and i["amount_fen"] for i in stats["items"])


def _assert_stats_charts(page, base: str, period: str) -> dict:
    """Every statistics chart holds what the API gives for the page's period; returns those answers."""
    stats = {name: _get(base, f"{STATS_PATH}?group_by={name}&{period}") for name in STATS_PANELS}
    for name in ("district", "supporter", "pair", "market"):
        option = page.evaluate(OPTION_OF, STATS_PANELS[name])
        if name != "district" and _nothing_shown(stats[name]):
            # Every group withheld (or empty): a message, not an empty chart.
            assert option["series"] == [] and option["graphic"] == 1, name
            continue
        if name == "market":
            assert {d["name"]: d["value"] for d in option["series"][0]["data"]} == {
                i["label"]: _yuan(i["amount_fen"]) for i in stats[name]["items"]}
            continue
        labels = option["yAxis"][0]
        assert sorted(labels) == sorted(i["label"] for i in stats[name]["items"]), name
        drawn = dict(zip(labels, option["series"][0]["data"]))
        assert drawn == {i["label"]: _yuan(i["amount_fen"]) for i in stats[name]["items"]}, name
        if name == "district":
            assert len(labels) >= 15  # the 15 reservoir districts always, others with sales
            via_pairs = dict(zip(labels, option["series"][1]["data"]))
            assert via_pairs == {i["label"]: _yuan(i["via_pairs_fen"]) for i in stats[name]["items"]}
    month = page.evaluate(OPTION_OF, "chart-month")
    items = sorted(stats["month"]["items"], key=lambda i: i["key"])
    assert month["xAxis"] == [[i["key"] for i in items]]
    assert month["series"][0]["data"] == [_yuan(i["amount_fen"]) for i in items]
    assert month["series"][1]["data"] == ["-" if i["quantity"] is None else i["quantity"] for i in items]
    assert page.inner_text("#kpi-amount") == format_fen(stats["district"]["total"]["amount_fen"])
    assert page.inner_text("#kpi-via-pairs") == format_fen(stats["supporter"]["total"]["amount_fen"])
    assert f"少于{stats['district']['min_buyers']}个买家的数据不单独公布" in page.inner_text("#suppression-note")
    return stats


def format_fen(fen) -> str:
    """The page's money text: 元 with two decimals, 万元 from ten thousand 元."""
    if fen is None:
        return "—"
    yuan = fen / 100
    return f"{yuan / 10000:,.2f} 万元" if abs(yuan) >= 10000 else f"{yuan:,.2f} 元"


def test_showcase_draws_the_demo_figures_refreshes_itself_and_fits_a_screen_and_a_phone(
        app, live_server, open_page, screenshot, monkeypatch):
    load_demo_data()
    db.session.commit()
    page, watch = open_page(f"{live_server}/showcase?refresh=2", viewport={"width": 1920, "height": 1080})
    _wait_for_round(page, 1)
    assert page.title() == "三峡库区对口支援消费帮扶成果展示"
    period = f"from={page.get_attribute('body', 'data-from')}&to={page.get_attribute('body', 'data-to')}"

    live = _get(live_server, "/api/v1/campaigns?status=open&limit=100")["items"]
    assert live, "the demo has an open campaign"
    _assert_campaign_chart(page, live)
    assert page.inner_text("#kpi-campaigns") == str(len(live))

    products = _get(live_server, "/api/v1/products?gi_only=true&sort=best_selling&limit=12")["items"]
    assert products, "the demo has verified GI products"
    assert page.locator("#gi-products .product-name").all_inner_texts() == [p["name"] for p in products]
    # The demo's suppliers are named （演示）: the page says its figures are demo data.
    assert page.is_visible("#demo-note") and page.is_visible("#demo-badge")

    stats = _assert_stats_charts(page, live_server, period)
    assert page.inner_text("#status") == ""
    assert stats["district"]["total"]["amount_fen"] > 0, "the demo's orders count for their districts"
    screenshot(page, "desktop")

    phone, phone_watch = open_page(f"{live_server}/showcase?refresh=3600", viewport={"width": 390, "height": 844},
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    _wait_for_round(phone, 1)
    widths = phone.evaluate("""() => ({page: document.documentElement.scrollWidth, viewport: innerWidth,
        charts: [...document.querySelectorAll('.chart canvas')].map(c => c.getBoundingClientRect().right)})""")
    assert widths["page"] <= widths["viewport"], widths
    assert widths["charts"] and max(widths["charts"]) <= widths["viewport"], widths
    screenshot(phone, "phone")
    # A screen turned or a window narrowed: the charts follow their panels.
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_function("""() => [...document.querySelectorAll('.chart canvas')]
        .every(c => c.getBoundingClientRect().right <= innerWidth)""")

    # Refreshing by itself: a campaign suspended meanwhile leaves the live list at the next round.
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.sanxia.test"))
    for campaign in live:
        campaigns.suspend_campaign(actor=admin, campaign_id=campaign["id"], reason="展示页刷新测试")
    db.session.commit()
    page.wait_for_function("() => document.getElementById('kpi-campaigns').textContent === '0'")
    _wait_for_round(page, int(page.get_attribute("body", "data-refresh-count")) + 1)
    assert page.evaluate(OPTION_OF, "chart-campaigns")["series"] == []
    assert db.session.scalar(select(Campaign.status).where(Campaign.id == live[0]["id"])) == "suspended"

    # With a minimum of one buyer nothing is withheld: every chart draws its bars (the demo alone withholds the
    # supporters' groups at the default minimum).
    monkeypatch.setitem(app.config, "ASSISTANCE_MIN_BUYERS", 1)
    page.reload()
    _wait_for_round(page, 1)
    stats = _assert_stats_charts(page, live_server, period)
    assert not any(_nothing_shown(answer) for answer in stats.values())
    assert stats["supporter"]["withheld"]["groups"] == 0

    for seen in (watch, phone_watch):
        assert seen.page_errors == []
        assert seen.console_errors == [] and seen.bad_responses == []
