"""Money invariants of one order, read back from every table that holds a part of it (used by the money-channel
tests and by the demo-history test)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from shop.extensions import db
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.payments.models import Payment
from shop.refunds.models import Refund, RefundLine, RefundPart


def assert_exact(order_id: int) -> dict:
    """The money of one order, read back from every table that holds a part of it, adds up to the fen:
    items (lines + shipping) = order; payments' refunded = order's refunded = the refunds' lines; each
    payment's refunded = its refund parts; and the net per line, per supplier and per origin district computed
    from the order lines equals the same net computed from the refund rows. Returns the net per district."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)))
    fulfillments = list(db.session.scalars(select(Fulfillment).where(Fulfillment.order_id == order_id)))
    pays = list(db.session.scalars(select(Payment).where(Payment.order_id == order_id)))
    assert sum(l.paid_fen for l in lines) + sum(f.shipping_paid_fen for f in fulfillments) == order.paid_fen
    assert sum(l.refunded_fen for l in lines) + sum(f.shipping_refunded_fen for f in fulfillments) == \
        order.refunded_fen
    assert sum(p.amount_fen for p in pays if p.status == "succeeded") == order.paid_fen
    assert sum(p.refunded_fen for p in pays) == order.refunded_fen
    counted = ("approved", "processing", "awaiting_transfer", "succeeded")
    refund_lines = list(db.session.scalars(select(RefundLine).join(Refund, Refund.id == RefundLine.refund_id)
                                           .where(Refund.order_id == order_id, Refund.status.in_(counted))))
    assert sum(r.amount_fen for r in refund_lines) == order.refunded_fen
    for payment in pays:
        parts = db.session.scalars(select(RefundPart.amount_fen).where(RefundPart.payment_id == payment.id,
                                                                      RefundPart.status != "failed"))
        assert sum(parts) == payment.refunded_fen
    by_line = {l.id: l for l in lines}
    from_refunds: dict[int, int] = defaultdict(int)
    for r in refund_lines:
        from_refunds[r.order_line_id] += r.amount_fen
    for line in lines:
        assert line.refunded_fen == from_refunds[line.id]
    for f in fulfillments:
        assert f.shipping_refunded_fen == sum(r.amount_fen for r in refund_lines
                                              if r.order_line_id is None and r.fulfillment_id == f.id)
    net_district: dict[str, int] = defaultdict(int)
    net_supplier: dict[int, int] = defaultdict(int)
    for line in lines:
        net_district[line.origin_district_code] += line.paid_fen - line.refunded_fen
        net_supplier[line.supplier_id] += line.paid_fen - line.refunded_fen
    for f in fulfillments:
        net_supplier[f.supplier_id] += f.shipping_paid_fen - f.shipping_refunded_fen
    assert sum(net_supplier.values()) == order.paid_fen - order.refunded_fen
    from_rows: dict[str, int] = defaultdict(int)
    for line in lines:
        from_rows[line.origin_district_code] += line.paid_fen
    for r in refund_lines:
        if r.order_line_id is not None:
            from_rows[by_line[r.order_line_id].origin_district_code] -= r.amount_fen
    assert dict(from_rows) == dict(net_district)
    db.session.commit()
    return dict(net_district)
