"""A change of pairs reaches what is attributed only through `flask shop reattribute`: a pair added, made nearer
or withdrawn (no longer verified) through the API leaves every entry as it was; the command then moves exactly
each line's net, says what moved per pair, and a second run moves nothing."""
from __future__ import annotations

from tests.assistance.conftest import TCM_PRICE, YUNYANG
from tests.assistance.helpers import assert_attribution_exact, entries, net, pair_id, reattribute, snapshot
from tests.orders.factories import PRICE_A, pay, place

JIANGSU, NANJING, WUSHAN = "320000", "320100", "500237"


def _add_pair(admin, supporter, recipient) -> int:
    response = admin.post("/api/v1/support-pairs", json={
        "supporter_code": supporter, "recipient_code": recipient, "kind": "three_gorges_counterpart",
        "verified": True, "evidence": "test: a pairing agreement"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_pair_added_counts_old_sales_only_once_reattributed(world, buyer, admin):
    order = place(buyer, world.address_id, [(world.sku_a, 2)])
    pay(order["id"])
    assert net(district_code=WUSHAN, pair_id=None) == (2 * PRICE_A, 2)
    before = snapshot()

    new_pair = _add_pair(admin, JIANGSU, WUSHAN)
    assert snapshot() == before  # the API moved nothing
    assert "would move" in reattribute("--dry-run") and snapshot() == before

    output = reattribute()
    assert f"pair {new_pair} 江苏省 → 巫山县: in {2 * PRICE_A} fen (2 units), out 0 fen" in output, output
    assert f"no pair → 巫山县: in 0 fen (0 units), out {2 * PRICE_A} fen (2 units)" in output, output
    assert f"moved {2 * PRICE_A} fen on 1 order lines" in output
    assert net(pair_id=new_pair) == (2 * PRICE_A, 2)
    assert net(district_code=WUSHAN, pair_id=None) == (0, 0)
    assert net(district_code=WUSHAN) == (2 * PRICE_A, 2)  # the district's figure never moves
    assert [e.source for e in entries(order["id"])] == ["payment", "reattribution", "reattribution"]
    assert_attribution_exact()

    after = snapshot()
    assert "nothing to move" in reattribute()
    assert snapshot() == after


def test_a_nearer_pair_takes_the_line_from_the_province(world, buyer, yunyang, admin):
    """The 南京 shopper counted for 江苏省 → 云阳县; a 南京市 → 云阳县 pair is nearer to its home."""
    order = place(buyer, world.address_id, [(yunyang.sku_id, 3)])
    pay(order["id"])
    other = place(buyer, world.address_id, [(world.sku_a, 1)])  # 巫山: no pair before or after
    pay(other["id"])
    province = pair_id(JIANGSU, YUNYANG)
    city = _add_pair(admin, NANJING, YUNYANG)
    output = reattribute()
    assert f"pair {province} 江苏省 → 云阳县: in 0 fen (0 units), out {3 * TCM_PRICE} fen (3 units)" in output
    assert f"pair {city} 南京市 → 云阳县: in {3 * TCM_PRICE} fen (3 units), out 0 fen" in output
    assert f"moved {3 * TCM_PRICE} fen on 1 order lines" in output
    assert (net(pair_id=province), net(pair_id=city)) == ((0, 0), (3 * TCM_PRICE, 3))
    assert net(order_id=other["id"], pair_id=None) == (PRICE_A, 1)
    assert_attribution_exact()
    assert "nothing to move" in reattribute()


def test_a_withdrawn_pair_keeps_its_figures_until_reattributed_and_refunds_follow_the_line(world, buyer, yunyang,
                                                                                            admin):
    order = place(buyer, world.address_id, [(yunyang.sku_id, 2)])
    pay(order["id"])
    pair = pair_id(JIANGSU, YUNYANG)
    before = snapshot()
    response = admin.patch(f"/api/v1/support-pairs/{pair}", json={"verified": False})
    assert response.status_code == 200 and response.json["verified"] is False, response.json
    response = admin.patch(f"/api/v1/support-pairs/{pair}", json={"kind": "other"})
    assert response.status_code == 200, response.json
    assert snapshot() == before  # edits through the API re-attribute nothing

    # A refund meanwhile corrects what was attributed: the line's pair, not the pairs of today.
    response = admin.post(f"/api/v1/orders/{order['id']}/operator-refunds", json={"amount_fen": 1000,
                                                                               "reason": "补偿"})
    assert response.json["status"] == "succeeded", response.json
    held = net(order_id=order["id"])
    assert net(pair_id=pair) == held and held[0] < 2 * TCM_PRICE

    output = reattribute()
    assert f"pair {pair} 江苏省 → 云阳县: in 0 fen (0 units), out {held[0]} fen (2 units)" in output, output
    assert f"no pair → 云阳县: in {held[0]} fen (2 units), out 0 fen" in output, output
    assert net(pair_id=pair) == (0, 0) and net(pair_id=None) == held
    assert_attribution_exact()

    # Verified again: the next run brings it back, and later money follows the line to where it is now.
    assert admin.patch(f"/api/v1/support-pairs/{pair}", json={"verified": True}).status_code == 200
    assert f"moved {held[0]} fen on 1 order lines" in reattribute()
    assert net(pair_id=pair) == held
    response = admin.post(f"/api/v1/orders/{order['id']}/operator-refunds", json={"amount_fen": 100,
                                                                               "reason": "补偿"})
    assert response.json["status"] == "succeeded", response.json
    assert entries(order["id"])[-1].pair_id == pair
    assert_attribution_exact()
    assert "nothing to move" in reattribute()
