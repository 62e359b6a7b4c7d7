"""The demo shop, loaded through the services, is attributed as it was paid: exact per district and line, with
the 江苏 → 云阳 and 浙江 → 涪陵 figures its orders imply, and nothing for reattribute to move."""
from __future__ import annotations

from shop.demo import load_demo_data
from tests.assistance.helpers import assert_attribution_exact, net, pair_id, reattribute


def test_the_demo_history_is_attributed_exactly():
    load_demo_data()
    assert_attribution_exact()
    for supporter, district in (("320000", "500235"), ("330000", "500102")):
        fen, units = net(pair_id=pair_id(supporter, district))
        assert fen > 0 and units > 0, (supporter, district, fen, units)
    assert net(buyer_kind="institution")[0] > 0 and net(channel="presale")[0] > 0
    assert net(inside_chongqing=True)[0] > 0 and net(inside_chongqing=False)[0] > 0
    assert "nothing to move" in reattribute()
