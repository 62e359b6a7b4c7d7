"""The statistics over a generated year (benchmarks.assistance_data, a few thousand lines): every grouping and
filter equals the sums of what the generator wrote, computed here without SQL; the generator's lines agree with
the ledger's invariant; suppression holds on every public answer."""
from __future__ import annotations

import datetime as dt

import pytest

from benchmarks.assistance_data import generate
from shop.database import local_day_start
from tests.assistance.helpers import assert_attribution_exact, by_key, generated_sums, local_month, stats

YEAR = 2025
START, END = local_day_start(dt.date(YEAR, 1, 1)), local_day_start(dt.date(YEAR + 1, 1, 1))
KEYS = {
    "district": lambda line, at: line.district_code,
    "supporter": lambda line, at: line.supporter_code and line.supporter_code[:2] + "0000",  # GB/T 2260 provinces
    "pair": lambda line, at: line.pair_id and str(line.pair_id),
    "product": lambda line, at: str(line.product_id),
    "category": lambda line, at: str(line.category_id) if line.category_id else "none",
    "buyer_kind": lambda line, at: line.buyer_kind,
    "channel": lambda line, at: line.channel,
    "market": lambda line, at: {True: "inside", False: "outside", None: "unknown"}[line.inside_chongqing],
    "month": lambda line, at: local_month(at),
}


@pytest.fixture
def year(app):
    generated = generate(app, lines=2000, year=YEAR, seed=11, keep=True)
    assert generated.lines == 2000
    return generated.kept


@pytest.fixture
def operator(admin):
    return admin


def _figures(body) -> dict[str, list[int]]:
    return {item["key"]: [item["amount_fen"], item["quantity"]] for item in body["items"]
            if item["amount_fen"] or item["quantity"]}


def test_every_grouping_equals_the_generated_sums(year, operator):
    assert_attribution_exact()  # the generator writes what the ledger would
    for group_by, key_of in KEYS.items():
        body = stats(operator, group_by=group_by, start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", raw="true")
        expected = generated_sums(year, key_of, start=START, end=END)
        assert _figures(body) == {k: v for k, v in expected.items() if v != [0, 0]}, group_by
        on_pairs = group_by in ("supporter", "pair")
        everything = generated_sums(year, lambda line, at: "all", where=lambda l: not on_pairs or l.pair_id)["all"]
        assert [body["total"]["amount_fen"], body["total"]["quantity"]] == everything, group_by
        assert body["withheld"] == {"groups": 0, "amount_fen": 0, "quantity": 0}
        assert all(not item["suppressed"] for item in body["items"])
        assert all(item["via_pairs_fen"] is None for item in body["items"]) == (group_by != "district")


def test_districts_all_fifteen_ordered_with_their_pairs_share(year, operator):
    body = stats(operator, group_by="district", start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", raw="true")
    items = body["items"]
    reservoir = [item for item in items if item["key"].startswith("500") and item["key"] != "500103"]
    assert len(reservoir) == 15
    shown = [(-(item["amount_fen"]), item["key"]) for item in items]
    assert shown == sorted(shown)
    via = generated_sums(year, KEYS["district"], where=lambda line: line.pair_id is not None)
    assert {item["key"]: item["via_pairs_fen"] for item in items if item["via_pairs_fen"]} == \
        {k: v[0] for k, v in via.items() if v[0]}
    assert all(item["label"] for item in items)


FILTERS = [
    ({"district": "500101"}, lambda line: line.district_code == "500101"),
    ({"channel": "store"}, lambda line: line.channel == "store"),
    ({"buyer_kind": "institution"}, lambda line: line.buyer_kind == "institution"),
    ({"supporter": "330000"}, lambda line: (line.supporter_code or "").startswith("33")),  # 浙江 and 宁波's pairs
    ({"supporter": "330200"}, lambda line: line.supporter_code == "330200"),
    ({"district": "500101", "buyer_kind": "shopper", "channel": "retail"},
     lambda line: (line.district_code, line.buyer_kind, line.channel) == ("500101", "shopper", "retail")),
]


def test_filters(year, operator):
    for filters, keep in FILTERS:
        body = stats(operator, group_by="month", start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", raw="true", **filters)
        expected = generated_sums(year, KEYS["month"], start=START, end=END, where=keep)
        assert _figures(body) == {k: v for k, v in expected.items() if v != [0, 0]}, filters
        assert [item["key"] for item in body["items"]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
        assert sum(v[0] for v in expected.values()) > 0, filters


def test_a_province_rolls_up_its_cities_pairs(year, operator):
    provinces = by_key(stats(operator, group_by="supporter", start=f"{YEAR}-01-01", end=f"{YEAR}-12-31",
                             raw="true"))
    pairs = stats(operator, group_by="pair", start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", raw="true",
                  supporter="330000")
    assert "330200" not in provinces  # 宁波 is inside 浙江's figure, not an item of its own
    assert provinces["330000"]["amount_fen"] == pairs["total"]["amount_fen"] > 0
    assert {item["label"].split(" → ")[0] for item in pairs["items"] if item["amount_fen"]} == {"浙江省", "宁波市"}


def test_a_category_filter_includes_its_subcategories(year, operator):
    from shop.catalog.queries import list_categories

    root = next(node for node in list_categories() if node["children"])
    ids = {root["id"]}
    stack = list(root["children"])
    while stack:
        node = stack.pop()
        ids.add(node["id"])
        stack += node["children"]
    body = stats(operator, group_by="category", start=f"{YEAR}-01-01", end=f"{YEAR}-12-31", raw="true",
                 category=root["id"])
    expected = generated_sums(year, KEYS["category"], where=lambda line: line.category_id in ids)
    assert _figures(body) == {k: v for k, v in expected.items() if v != [0, 0]}


def test_public_answers_never_show_a_small_group(year, client):
    for group_by in KEYS:
        body = stats(client, group_by=group_by, start=f"{YEAR}-01-01", end=f"{YEAR}-12-31")
        hidden = [item for item in body["items"] if item["suppressed"]]
        assert len(hidden) != 1, group_by
        assert all(item["amount_fen"] is None and item["quantity"] is None for item in hidden)
        shown = sum(item["amount_fen"] for item in body["items"] if not item["suppressed"])
        assert shown + body["withheld"]["amount_fen"] == body["total"]["amount_fen"]
        assert body["withheld"]["groups"] == len(hidden)
