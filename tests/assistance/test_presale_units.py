"""A pledge's deposit counts as money for its district at once, its units only once the balance is in: a short
harvest's refund of the deposit of units never counted moves money and no units, and the balance of the units
allotted counts exactly those."""
from __future__ import annotations

from tests.assistance.helpers import assert_attribution_exact, entries, net
from tests.orders.factories import PRICE_A, load_order
from tests.presale.factories import DEPOSIT_A, allocate, pay_due_part, succeeded_campaign


def test_units_count_when_the_pledge_is_paid_in_full(app, world, make_buyer):
    campaign_id, [(first, first_order), (_, second_order)] = succeeded_campaign(app, world, make_buyer, [10, 4])
    assert [(e.source, e.amount_fen, e.quantity, e.channel) for e in entries(first_order)] == [
        ("payment", 10 * DEPOSIT_A, 0, "presale")]
    assert_attribution_exact()

    response = allocate(world, campaign_id, 7)  # pro rata: 5 of 10 and 2 of 4
    assert response.status_code == 200, response.json
    assert load_order(first_order).lines[0].quantity == 5
    assert [(e.source, e.amount_fen, e.quantity) for e in entries(first_order)][1:] == [
        ("refund", -5 * DEPOSIT_A, 0)]
    assert_attribution_exact()

    assert pay_due_part(first, first_order) == "paid"
    assert net(order_id=first_order) == (5 * PRICE_A, 5)
    assert net(order_id=second_order) == (2 * DEPOSIT_A, 0)  # its balance is not paid yet: no units
    assert_attribution_exact()
