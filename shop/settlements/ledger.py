"""The settlement ledger: every move of a supplier's money, signed and dated when it moved.

Why a ledger of its own. A month's settlement needs, per supplier, what was paid, refunded and given back *in
that month*. The order rows hold only running totals (`paid_fen`, `refunded_fen` per line and per shipping fee):
they say what a line holds now, not when each fen moved, so a refund in December would rewrite November's
figures. Payments and refunds carry dates but not their split over suppliers (a payment of a two-supplier order
is one row). The orders ledger already announces every split, exactly, in its transaction
(`shop.orders.signals.line_money_moved`: the shares of each line *and* of each fulfilment's shipping fee), so
`record_moves` appends one `SettlementEntry` per share, signed, dated now, for the share's supplier: at every
commit Σ entries per supplier equals Σ(paid - refunded) of its lines and shipping, to the fen, and the entries
dated in a month are exactly what moved in it. Entries are never updated, so a month's entries never change
once it has passed: closing it freezes sums that nothing later can move, and a later refund is a later entry,
in the month it happens.

What counts when. A payment counts when the ledger records it; a refund when it is reserved on the order (its
approval) and, if the provider refuses it, the money given back counts when it is released — each in the month
it happens. A forfeited 定金 (balance never paid) is a payment never refunded: it stays in the supplier's sales.
A pre-sale compensation (shop.presale.compensation) is the supplier's debt: `record_compensation` writes it as a
negative entry when an operator records its payout, in that unit of work.

Commission is not stored here: it depends on the rate in force at each entry's day, and a rate may be recorded
for a day of the current month after entries of that day exist (shop.settlements.figures).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from shop.database import utcnow
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.signals import line_money_moved
from shop.settlements.models import SettlementEntry

SHIPPING = "运费"
COMPENSATION = "预售违约补偿（双倍定金）"


@line_money_moved.connect
def record_moves(order_id: int, *, source: str, shares) -> None:
    """The ledger moved money on an order's lines and shipping: one entry per share (in its transaction)."""
    shares = [share for share in shares if share.amount_fen]
    if not shares:
        return
    order = orders.load_order(order_id)  # read after the ledger's UPDATEs (attribution reads it the same way)
    suppliers = {fulfillment.id: fulfillment.supplier_id for fulfillment in order.fulfillments}
    lines = {line.id: line for line in order.lines}
    now = utcnow()
    rows = []
    for share in shares:
        line = lines.get(share.order_line_id)
        rows.append(dict(supplier_id=suppliers[share.fulfillment_id], source=source,
                         kind="shipping" if line is None else "line", amount_fen=share.amount_fen,
                         order_id=order_id, order_number=order.number, fulfillment_id=share.fulfillment_id,
                         order_line_id=share.order_line_id,
                         description=SHIPPING if line is None else f"{line.product_name} {line.sku_spec}"[:200],
                         created_at=now))
    db.session.execute(insert(SettlementEntry), rows)


def record_compensation(*, compensation_id: int, supplier_id: int, order_id: int, amount_fen: int,
                        paid_at: dt.datetime) -> None:
    """In the payout's unit of work: the supplier bears what the platform paid its buyer (unique per
    compensation, so a payout cannot be deducted twice)."""
    db.session.execute(insert(SettlementEntry), [dict(
        supplier_id=supplier_id, source="compensation", kind="compensation", amount_fen=-amount_fen,
        order_id=order_id, compensation_id=compensation_id, description=COMPENSATION, created_at=paid_at)])
