"""Small-group suppression: the rule itself (shop.assistance.suppression) and the public API applying it —
primary (too few distinct buyers, an institution counting once), complementary (never exactly one withheld
group, which total − the rest would give away), the total withheld when nothing else helps, and raw figures for
platform admins only."""
from __future__ import annotations

import pytest

from shop.assistance.suppression import Cell, suppress
from tests.assistance.helpers import STATS, add_entries, base_world, by_key, query, stats
from tests.support import assert_problem, make_user

DAY = {"start": "2024-06-15", "end": "2024-06-15"}


def _union_is_the_sum(keys):
    raise AssertionError("not needed here")


def test_one_small_group_takes_the_next_smallest_with_it():
    cells = [Cell("a", 1000, 5, 9), Cell("b", 40, 1, 1), Cell("c", 300, 2, 4), Cell("d", 200, 2, 3),
             Cell("z", 0, 0, 0)]
    outcome = suppress(cells, min_buyers=3, union_buyers=_union_is_the_sum)
    assert outcome.hidden == {"b", "d"} and not outcome.total_hidden


def test_two_small_groups_of_enough_buyers_together_stay_two():
    cells = [Cell("a", 1000, 5, 9), Cell("b", 40, 1, 2), Cell("c", 50, 1, 2)]
    assert suppress(cells, min_buyers=3, union_buyers=lambda keys: 4).hidden == {"b", "c"}
    # the same two buyers in both: together they are still two, so the smallest shown group joins them
    assert suppress(cells, min_buyers=3, union_buyers=lambda keys: 2).hidden == {"a", "b", "c"}


def test_nothing_to_hide_behind_withholds_the_total():
    outcome = suppress([Cell("a", 100, 1, 1), Cell("b", 0, 0, 0)], min_buyers=3, union_buyers=_union_is_the_sum)
    assert outcome.hidden == {"a"} and outcome.total_hidden
    assert suppress([Cell("a", 100, 1, 5)], min_buyers=3, union_buyers=_union_is_the_sum).hidden == set()


@pytest.fixture
def world(app):
    return base_world(app)


def _buyers(world, channel, fens, **extra):
    return [dict(channel=channel, buyer_id=world["shoppers"][i], amount_fen=fen, **extra) for i, fen in
            enumerate(fens)]


def test_a_small_group_and_its_complement_are_withheld(world, client):
    add_entries(world, *_buyers(world, "retail", [1000] * 5), *_buyers(world, "store", [300]),
                *_buyers(world, "presale", [200, 200, 200]))
    body = stats(client, group_by="channel", **DAY)
    items = by_key(body)
    assert items["store"] == {"key": "store", "label": "门店", "amount_fen": None, "quantity": None,
                              "via_pairs_fen": None, "suppressed": True}
    assert items["presale"]["suppressed"] and items["presale"]["amount_fen"] is None  # 600: the next smallest
    assert items["retail"]["amount_fen"] == 5000 and not items["retail"]["suppressed"]
    assert items["procurement"]["amount_fen"] == 0 and not items["procurement"]["suppressed"]  # zero: shown
    assert body["withheld"] == {"groups": 2, "amount_fen": 900, "quantity": 4}
    assert body["total"] == {"amount_fen": 5900, "quantity": 9}
    assert [item["key"] for item in body["items"]] == ["retail", "procurement", "presale", "store"]


def test_an_institution_counts_once(world, client):
    org, shoppers = world["organizations"][0], world["shoppers"]
    add_entries(world, *_buyers(world, "retail", [1000] * 4), *_buyers(world, "store", [700] * 3),
                *_buyers(world, "presale", [900] * 3),
                # four people buying for one organisation are one buyer
                *[dict(channel="procurement", buyer_kind="institution", organization_id=org, buyer_id=shoppers[i],
                       amount_fen=500) for i in range(4)])
    items = by_key(stats(client, group_by="channel", **DAY))
    assert items["procurement"]["suppressed"] and items["store"]["suppressed"]  # 2,000 and its complement 2,100
    assert not items["presale"]["suppressed"] and items["retail"]["amount_fen"] == 4000


def test_too_few_buyers_in_all_withholds_the_total(world, client):
    add_entries(world, *_buyers(world, "retail", [1000, 1000]))
    body = stats(client, group_by="channel", **DAY)
    assert body["total"] == {"amount_fen": None, "quantity": None}
    assert body["withheld"] == {"groups": 1, "amount_fen": None, "quantity": None}
    assert by_key(body)["retail"]["suppressed"]


def test_a_districts_share_through_pairs_is_withheld_when_few_make_it(world, client):
    from tests.assistance.helpers import pair_id

    yunyang, fuling = pair_id("320000", "500235"), pair_id("330000", "500102")
    add_entries(world, *_buyers(world, "retail", [1000] * 5),
                dict(buyer_id=world["shoppers"][5], amount_fen=400, pair_id=yunyang, supporter_code="320000"),
                *[dict(buyer_id=world["shoppers"][6 + i], amount_fen=800, district_code="500102", pair_id=fuling,
                       supporter_code="330000") for i in range(4)],
                *[dict(buyer_id=world["shoppers"][10 + i], amount_fen=900, district_code="500236")
                  for i in range(3)])
    items = by_key(stats(client, group_by="district", **DAY))
    assert items["500235"]["amount_fen"] == 5400 and items["500235"]["via_pairs_fen"] is None  # one buyer's
    assert items["500102"]["via_pairs_fen"] is None  # its complement: else 5400 - … would not hide it
    assert items["500236"]["via_pairs_fen"] == 0
    raw = by_key(stats(_admin_client(), group_by="district", raw="true", **DAY))
    assert raw["500235"]["via_pairs_fen"] == 400 and raw["500102"]["via_pairs_fen"] == 3200


def _admin_client():
    from tests.orders.factories import api_as

    return api_as(make_user(admin=True))


def test_raw_figures_are_for_platform_admins_only(world, client, as_user):
    add_entries(world, *_buyers(world, "retail", [1000] * 5), *_buyers(world, "store", [300]))
    raw = by_key(stats(_admin_client(), group_by="channel", raw="true", **DAY))
    assert raw["store"] == {"key": "store", "label": "门店", "amount_fen": 300, "quantity": 1,
                            "via_pairs_fen": None, "suppressed": False}
    assert_problem(client.get(query(STATS, group_by="channel", raw="true")), 401)
    assert_problem(as_user(make_user()).get(query(STATS, group_by="channel", raw="true")), 403, "raw_for_operators")
    assert by_key(stats(client, group_by="channel", raw="false", **DAY))["store"]["suppressed"]


def test_the_threshold_is_configured(world, client, app, monkeypatch):
    add_entries(world, *_buyers(world, "retail", [1000] * 5), *_buyers(world, "store", [300] * 3))
    assert not by_key(stats(client, group_by="channel", **DAY))["store"]["suppressed"]
    monkeypatch.setitem(app.config, "ASSISTANCE_MIN_BUYERS", 4)
    body = stats(client, group_by="channel", **DAY)
    assert body["min_buyers"] == 4 and by_key(body)["store"]["suppressed"]
