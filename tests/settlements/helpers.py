"""Reading the settlement figures and the money they must reconcile with, from the test thread (each read ends
its transaction: on SQLite one left open would block the app's own requests); placing, paying and refunding."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.extensions import db
from shop.orders.models import Fulfillment, OrderLine
from shop.payments.models import Payment
from shop.presale.models import Compensation
from shop.refunds.models import RefundPart
from shop.settlements.figures import bounds, month_figures
from shop.settlements.models import SettlementEntry
from tests.orders.factories import pay, place


def read(fn):
    db.session.expire_all()
    try:
        return fn()
    finally:
        db.session.commit()


def figures(month: str) -> dict:
    """Supplier id → Figures of the month, as the ledger says now."""
    return read(lambda: month_figures(month))


def _sum(column, *where) -> int:
    return int(read(lambda: db.session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where))))


def received(month: str) -> int:
    """What payments brought in the month (their provider's or the bank's amounts)."""
    start, end = bounds(month)
    return _sum(Payment.received_fen, Payment.status == "succeeded", Payment.succeeded_at >= start,
                Payment.succeeded_at < end)


def refunded(month: str) -> int:
    """What refunds sent back in the month (the parts the providers or the bank completed)."""
    start, end = bounds(month)
    return _sum(RefundPart.amount_fen, RefundPart.status == "succeeded", RefundPart.completed_at >= start,
                RefundPart.completed_at < end)


def compensated(month: str) -> int:
    start, end = bounds(month)
    return _sum(Compensation.amount_fen, Compensation.status == "paid", Compensation.paid_at >= start,
                Compensation.paid_at < end)


def assert_reconciles(month: str) -> None:
    """Money in minus money out == what suppliers are owed plus what the platform keeps, to the fen."""
    by_supplier = figures(month).values()
    assert received(month) - refunded(month) - compensated(month) == \
        sum(f.payable_fen + f.commission_fen for f in by_supplier), month


def assert_ledger_exact() -> None:
    """Over all time, per supplier, the entries add up to what its lines and shipping hold, less compensations."""
    def held():
        lines = dict(db.session.execute(select(OrderLine.supplier_id, func.sum(OrderLine.paid_fen - OrderLine.refunded_fen))
                                        .group_by(OrderLine.supplier_id)).all())
        shipping = dict(db.session.execute(select(Fulfillment.supplier_id,
                                                  func.sum(Fulfillment.shipping_paid_fen
                                                           - Fulfillment.shipping_refunded_fen))
                                           .group_by(Fulfillment.supplier_id)).all())
        paid_out = dict(db.session.execute(select(Compensation.supplier_id, func.sum(Compensation.amount_fen))
                                           .where(Compensation.status == "paid")
                                           .group_by(Compensation.supplier_id)).all())
        entries = dict(db.session.execute(select(SettlementEntry.supplier_id, func.sum(SettlementEntry.amount_fen))
                                          .group_by(SettlementEntry.supplier_id)).all())
        return lines, shipping, paid_out, entries

    lines, shipping, paid_out, entries = read(held)
    suppliers = set(lines) | set(shipping) | set(paid_out) | set(entries)
    expected = {s: int(lines.get(s) or 0) + int(shipping.get(s) or 0) - int(paid_out.get(s) or 0) for s in suppliers}
    assert {s: int(entries.get(s) or 0) for s in suppliers} == expected


def paid(client, address_id: int, items) -> dict:
    order = place(client, address_id, items)
    pay(order["id"])
    return order


def operator_refund(admin, order_id: int, amount_fen: int) -> dict:
    response = admin.post(f"/api/v1/orders/{order_id}/operator-refunds", json={"amount_fen": amount_fen,
                                                                             "reason": "补偿"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.json


def close(admin, month: str):
    return admin.post("/api/v1/settlements/close", json={"month": month})


def settlement_of(client, supplier_id: int, month: str) -> dict:
    response = client.get(f"/api/v1/suppliers/{supplier_id}/settlements/{month}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json
