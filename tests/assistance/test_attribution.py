"""Attribution follows the money of every paid order line: its district always, the support pair that covers its
buyer's home region when one does, 市内/市外; corrected by every refund, untouched by a refund the provider
refuses. Payments and refunds go through localstripe; after every step the entries add up to the lines' net."""
from __future__ import annotations

from tests.assistance.conftest import SHIPPING_FEN, TCM_PRICE, YUNYANG
from tests.assistance.helpers import assert_attribution_exact, entries, net, pair_id
from tests.orders.factories import PRICE_A, SHIP, api_as, fulfillment_of, load_order, make_address, pay, place
from tests.procurement.factories import add_member, make_organization, pay_by_transfer, requisition
from tests.support import make_user

JIANGSU, WANZHOU, WUSHAN = "320000", "500101", "500237"


def _delivered(buyer, world, yunyang, quantity):
    order = place(buyer, world.address_id, [(yunyang.sku_id, quantity)])
    pay(order["id"])
    client = api_as(yunyang.owner)
    fulfillment = fulfillment_of(order, yunyang.supplier_id)
    assert client.post(f"/api/v1/fulfillments/{fulfillment}/ship", json=SHIP).status_code == 200
    assert client.post(f"/api/v1/fulfillments/{fulfillment}/deliver").status_code == 200
    return order


def _return(buyer, yunyang, order, quantity):
    """The buyer returns `quantity` units without reason and the supplier approves: money back at localstripe."""
    [asked] = buyer.post(f"/api/v1/orders/{order['id']}/refunds", json={
        "kind": "no_reason_return", "reason": "不需要了",
        "items": [{"order_line_id": order["lines"][0]["id"], "quantity": quantity}]}).json
    return api_as(yunyang.owner).post(f"/api/v1/refunds/{asked['id']}/decision", json={"approve": True}).json


def test_a_jiangsu_shoppers_paid_order_counts_for_yunyang_and_for_the_pair(world, buyer, yunyang):
    """The 南京 shopper's home is a county of 江苏: its chain reaches 江苏省, which supports 云阳县."""
    order = place(buyer, world.address_id, [(yunyang.sku_id, 3)])
    assert entries(order["id"]) == []  # placed is not paid
    pay(order["id"])

    [entry] = entries(order["id"])
    assert (entry.source, entry.amount_fen, entry.quantity) == ("payment", 3 * TCM_PRICE, 3)
    assert (entry.district_code, entry.supplier_id, entry.product_id) == (YUNYANG, yunyang.supplier_id,
                                                                          yunyang.product_id)
    assert entry.category_id is not None and entry.order_line_id == order["lines"][0]["id"]
    assert (entry.pair_id, entry.supporter_code) == (pair_id(JIANGSU, YUNYANG), JIANGSU)
    assert (entry.channel, entry.buyer_kind, entry.buyer_id) == ("retail", "shopper", world.buyer.id)
    assert (entry.buyer_region_code, entry.inside_chongqing) == ("320102", False)
    # The shipping fee was paid too, and is no district's product.
    assert load_order(order["id"]).paid_fen == 3 * TCM_PRICE + SHIPPING_FEN
    assert net(district_code=YUNYANG) == (3 * TCM_PRICE, 3)
    assert_attribution_exact()


def test_a_line_no_pair_covers_counts_for_its_district_only(world, buyer, yunyang):
    """江苏 supports no 巫山 pair: in the same order, the 巫山 plums count for 巫山 alone, the 云阳 line for its pair."""
    order = place(buyer, world.address_id, [(world.sku_a, 2), (yunyang.sku_id, 1)])
    pay(order["id"])
    by_district = {e.district_code: e for e in entries(order["id"])}
    assert set(by_district) == {WUSHAN, YUNYANG}
    assert (by_district[WUSHAN].pair_id, by_district[WUSHAN].supporter_code) == (None, None)
    assert by_district[WUSHAN].amount_fen == 2 * PRICE_A and by_district[WUSHAN].quantity == 2
    assert by_district[YUNYANG].pair_id == pair_id(JIANGSU, YUNYANG)
    assert net(pair_id=None) == (2 * PRICE_A, 2)
    assert_attribution_exact()


def test_a_chongqing_buyer_counts_inside_chongqing(yunyang, world):
    """A 万州 shopper buying from 云阳: 市内, and no pair (no Chongqing district supports 云阳 in the pairs)."""
    shopper = make_user(display_name="万州买家", home_region_code=WANZHOU)
    address = make_address(shopper, region_code=WANZHOU, detail="万州区高笋塘 1 号", postal_code="404000")
    order = place(api_as(shopper), address.id, [(yunyang.sku_id, 1)])
    pay(order["id"])
    [entry] = entries(order["id"])
    assert (entry.buyer_region_code, entry.inside_chongqing, entry.pair_id) == (WANZHOU, True, None)
    # And the 南京 shopper's order of the same product counts outside (市外).
    other = place(api_as(world.buyer), world.address_id, [(yunyang.sku_id, 1)])
    pay(other["id"])
    assert net(inside_chongqing=True) == (TCM_PRICE, 1)
    assert net(inside_chongqing=False) == (TCM_PRICE, 1)
    assert_attribution_exact()


def test_a_partial_refund_corrects_money_and_the_units_it_returns(world, buyer, yunyang):
    order = _delivered(buyer, world, yunyang, 3)
    refund = _return(buyer, yunyang, order, 1)
    assert refund["status"] == "succeeded", refund
    rows = [(e.source, e.amount_fen, e.quantity, e.pair_id) for e in entries(order["id"])]
    pair = pair_id(JIANGSU, YUNYANG)
    assert rows == [("payment", 3 * TCM_PRICE, 3, pair), ("refund", -TCM_PRICE, -1, pair)]
    assert net(pair_id=pair) == (2 * TCM_PRICE, 2)
    assert_attribution_exact()


def test_an_operator_refund_moves_money_and_no_units(world, buyer, yunyang, admin):
    order = place(buyer, world.address_id, [(yunyang.sku_id, 2)])
    pay(order["id"])
    response = admin.post(f"/api/v1/orders/{order['id']}/operator-refunds",
                          json={"amount_fen": 1000 + SHIPPING_FEN, "reason": "补偿"})
    assert response.status_code in (200, 201) and response.json["status"] == "succeeded", response.json
    line = load_order(order["id"]).lines[0]
    # The refund was spread over the line and the shipping fee: only the line's part is attributed.
    assert net(order_id=order["id"]) == (line.paid_fen - line.refunded_fen, 2)
    assert line.refunded_fen < 1000 + SHIPPING_FEN
    assert_attribution_exact()


def test_a_cancellation_takes_everything_back(world, buyer, yunyang):
    order = place(buyer, world.address_id, [(world.sku_a, 1), (yunyang.sku_id, 2)])
    pay(order["id"])
    response = buyer.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "买错了"})
    assert response.status_code == 200, response.json
    assert load_order(order["id"]).refunded_fen == load_order(order["id"]).paid_fen
    assert net(order_id=order["id"]) == (0, 0)
    assert [e.source for e in entries(order["id"])] == ["payment", "payment", "refund", "refund"]
    assert net(pair_id=pair_id(JIANGSU, YUNYANG)) == (0, 0)
    assert_attribution_exact()


def test_a_refund_the_provider_refuses_leaves_attribution_as_it_was(app, world, buyer, yunyang, admin, monkeypatch):
    order = _delivered(buyer, world, yunyang, 3)
    goodwill = admin.post(f"/api/v1/orders/{order['id']}/operator-refunds", json={"amount_fen": 500,
                                                                               "reason": "补偿"})
    assert goodwill.json["status"] == "succeeded", goodwill.json  # money only: the units stay
    before = net(order_id=order["id"])
    assert before[1] == 3 and before[0] < 3 * TCM_PRICE
    # A patch of its own: monkeypatch.undo() would also undo the suite's fresh app context per request.
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # localstripe cannot be reached
        refund = _return(buyer, yunyang, order, 2)  # returns units: they come back with the money
        assert refund["status"] == "failed", refund
        response = admin.post(f"/api/v1/orders/{order['id']}/operator-refunds", json={"amount_fen": 500,
                                                                                   "reason": "补偿"})
        assert response.json["status"] == "failed", response.json

    assert net(order_id=order["id"]) == before
    assert [(e.source, e.quantity) for e in entries(order["id"])][-4:] == [
        ("refund", -2), ("refund_released", 2), ("refund", 0), ("refund_released", 0)]
    assert net(pair_id=pair_id(JIANGSU, YUNYANG)) == before
    # With the provider back, the return counts.
    assert _return(buyer, yunyang, order, 2)["status"] == "succeeded"
    assert net(order_id=order["id"])[1] == 1
    assert_attribution_exact()


def test_an_institutions_order_counts_for_the_organisations_region(yunyang):
    """A 江苏 hospital's requisition, placed by a member whose own home is 万州: the organisation's region counts."""
    hospital = make_organization(name="江苏省某人民医院", fapiao_title="江苏省某人民医院")
    member = add_member(hospital, "buyer", limit_fen=10_000_000,
                        user=make_user(display_name="采购员", home_region_code=WANZHOU))
    order = requisition(member, hospital, [(yunyang.sku_id, 5)])
    assert entries(order.id) == []  # on terms: nothing paid yet
    pay_by_transfer(order, 2 * TCM_PRICE)  # a first part: money counts, units wait for the whole line
    pay_by_transfer(load_order(order.id))
    rows = entries(order.id)
    assert [(e.source, e.quantity) for e in rows] == [("payment", 0), ("payment", 5)]
    assert {(e.buyer_kind, e.organization_id, e.buyer_region_code, e.inside_chongqing, e.channel, e.pair_id)
            for e in rows} == {("institution", hospital.id, JIANGSU, False, "procurement",
                                pair_id(JIANGSU, YUNYANG))}
    assert net(order_id=order.id) == (5 * TCM_PRICE, 5)
    assert_attribution_exact()
