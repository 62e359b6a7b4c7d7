"""The demo shop, loaded through the services, is attributed as it was paid: exact per district and line, with
the 江苏 → 云阳 and 浙江 → 涪陵 figures its orders imply (in the ledger and in the statistics API), and nothing
for reattribute to move."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from shop.demo import load_demo_data
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.regions.models import Region
from tests.assistance.helpers import assert_attribution_exact, by_key, net, pair_id, reattribute, stats

EVER = {"start": "2021-01-01", "end": "2030-12-31"}


def test_the_demo_history_is_attributed_exactly(admin, client):
    load_demo_data()
    assert_attribution_exact()
    for supporter, district in (("320000", "500235"), ("330000", "500102")):
        fen, units = net(pair_id=pair_id(supporter, district))
        assert fen > 0 and units > 0, (supporter, district, fen, units)
    assert net(buyer_kind="institution")[0] > 0 and net(channel="presale")[0] > 0
    assert net(inside_chongqing=True)[0] > 0 and net(inside_chongqing=False)[0] > 0
    assert "nothing to move" in reattribute()
    _check_the_demo_statistics(admin, client)


def _lines():
    """(district, the buyer's region and its ancestors, net fen) of every order line, read from the orders."""
    parents = dict(db.session.execute(select(Region.code, Region.parent_code)).all())

    def chain(code):
        while code:
            yield code
            code = parents.get(code)

    rows = db.session.execute(select(OrderLine.origin_district_code, Order.buyer_region_code,
                                     OrderLine.paid_fen - OrderLine.refunded_fen)
                              .join(Order, Order.id == OrderLine.order_id)).all()
    db.session.commit()
    return [(district, set(chain(region)), net) for district, region, net in rows]


def _check_the_demo_statistics(admin, client):
    """The statistics give the figures the demo's order lines imply (paid − refunded of the lines from the district
    bought by buyers of the province), and each district's figure is its lines' net."""
    lines = _lines()
    pairs = by_key(stats(admin, group_by="pair", raw="true", **EVER))
    for supporter, district in (("320000", "500235"), ("330000", "500102")):
        expected = sum(net for d, chain, net in lines if d == district and supporter in chain)
        item = pairs[str(pair_id(supporter, district))]
        assert item["amount_fen"] == expected > 0, (supporter, district)
        assert item["quantity"] > 0
        assert item["label"].endswith(" → 云阳县" if district == "500235" else " → 涪陵区")
    by_district = defaultdict(int)
    for district, _, net in lines:
        by_district[district] += net
    districts = by_key(stats(admin, group_by="district", raw="true", **EVER))
    assert {k: v["amount_fen"] for k, v in districts.items() if v["amount_fen"]} == \
        {k: v for k, v in by_district.items() if v}
    assert len([k for k in districts if k in by_district or districts[k]["amount_fen"] == 0]) >= 15
    public = by_key(stats(client, group_by="district", **EVER))
    for key, item in public.items():  # the public figure is the raw one unless withheld
        assert item["amount_fen"] in (None, districts[key]["amount_fen"])
