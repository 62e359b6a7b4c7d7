"""Refunds after delivery: the buyer asks, the supplier of those lines decides, the money goes back through
the gateway. Amounts are reserved against what was paid before the provider is called."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from shop.database import utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.money import allocate_proportionally
from shop.orders import notify
from shop.orders.models import Fulfillment, Order, OrderLine, Refund
from shop.orders.services import get_order
from shop.orders.state import record
from shop.pagination import SortKey, keyset_page
from shop.payments import services as payments
from shop.suppliers.services import is_member, member_supplier_ids

CHINA = ZoneInfo("Asia/Shanghai")
NO_REASON_DAYS = 7
OPEN_STATUSES = ("requested", "approved", "processing")
FRESH_POLICIES = ("excluded_fresh",)


def no_reason_deadline(delivered_at: dt.datetime) -> dt.date:
    """七日无理由退货: seven days counted from the day after the buyer signed for the parcel."""
    return delivered_at.astimezone(CHINA).date() + dt.timedelta(days=NO_REASON_DAYS)


def _open_amounts(order_id: int) -> dict[int, int]:
    """Per order line, the amount already asked for in refunds still open."""
    totals: dict[int, int] = defaultdict(int)
    for refund in db.session.scalars(select(Refund).where(Refund.order_id == order_id,
                                                          Refund.status.in_(("requested",)))):
        for item in refund.lines:
            totals[item["order_line_id"]] += item["amount_fen"]
    return totals


def _check_eligible(order: Order, line: OrderLine, fulfillment: Fulfillment, kind: str, photo_urls: list,
                    today: dt.date) -> None:
    if fulfillment.status != "delivered" or fulfillment.delivered_at is None:
        raise Conflict("Refunds are asked for after delivery; cancel the order before shipment instead.",
                       code="not_delivered")
    if kind == "no_reason_return":
        confirmed_exclusion = line.return_policy == "excluded_with_confirmation" and \
            line.product_id in (order.return_confirmations or [])
        if line.return_policy in ("excluded_fresh", "excluded_custom") or confirmed_exclusion:
            raise Conflict(f"{line.product_name} is not returnable without a reason.", code="not_returnable")
        if today > no_reason_deadline(fulfillment.delivered_at):
            raise Conflict("The 7-day no-reason return period is over.", code="return_window_closed")
    if kind == "quality_claim" and (line.return_policy in FRESH_POLICIES or line.cold_chain) and not photo_urls:
        raise ValidationFailed("A quality claim on fresh produce needs photos.", code="photos_required",
                               errors={"photo_urls": ["At least one photo."]})


def request_refund(*, user, order_id: int, kind: str, items: list[dict], reason: str,
                   photo_urls: list[str] = (), today: dt.date | None = None) -> list[Refund]:
    order = get_order(user=user, order_id=order_id)
    if order.buyer_id != user.id:
        raise NotFound("No such order.")
    today = today or utcnow().astimezone(CHINA).date()
    lines = {line.id: line for line in order.lines}
    fulfillments = {f.id: f for f in order.fulfillments}
    open_amounts = _open_amounts(order.id)
    by_fulfillment: dict[int, list[dict]] = defaultdict(list)
    for index, item in enumerate(items):
        line = lines.get(item["order_line_id"])
        if line is None:
            raise ValidationFailed("No such line on this order.", code="invalid_line",
                                   errors={f"items.{index}.order_line_id": ["Not a line of this order."]})
        if item["quantity"] > line.quantity:
            raise ValidationFailed("More than was bought.", code="invalid_quantity",
                                   errors={f"items.{index}.quantity": [f"At most {line.quantity}."]})
        _check_eligible(order, line, fulfillments[line.fulfillment_id], kind, list(photo_urls), today)
        amount = line.unit_price_fen * item["quantity"]
        if amount > line.line_total_fen - line.refunded_fen - open_amounts[line.id]:
            raise Conflict("That is more than is left to refund on this line.", code="refund_exceeds_paid")
        by_fulfillment[line.fulfillment_id].append({"order_line_id": line.id, "quantity": item["quantity"],
                                                    "amount_fen": amount})
    asked = sum(item["amount_fen"] for lines_ in by_fulfillment.values() for item in lines_)
    if asked > order.refundable_fen - sum(open_amounts.values()):
        raise Conflict("That is more than is left to refund on this order.", code="refund_exceeds_paid")
    refunds = []
    for fulfillment_id, refund_lines in by_fulfillment.items():
        fulfillment = fulfillments[fulfillment_id]
        refund = Refund(order_id=order.id, fulfillment_id=fulfillment_id, supplier_id=fulfillment.supplier_id,
                        kind=kind, status="requested", amount_fen=sum(i["amount_fen"] for i in refund_lines),
                        lines=refund_lines, reason=reason, photo_urls=list(photo_urls), requested_by_id=user.id)
        db.session.add(refund)
        db.session.flush()
        record(order.id, "refund_requested", actor_id=user.id, refund_id=refund.id, amount_fen=refund.amount_fen,
               kind=kind)
        notify.refund_requested(order, refund)
        refunds.append(refund)
    db.session.commit()
    return refunds


def _refund_for_decider(user, refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id)
    if refund is None or not (user.is_platform_admin or
                              (refund.supplier_id and is_member(user=user, supplier_id=refund.supplier_id))):
        raise NotFound("No such refund.")
    return refund


def decide_refund(*, user, refund_id: int, approve: bool, note: str = "", amount_fen: int | None = None) -> Refund:
    refund = _refund_for_decider(user, refund_id)
    decided = "approved" if approve else "rejected"
    # The decision claims the request first: of two concurrent deciders the second waits, then matches nothing.
    claimed = db.session.execute(update(Refund).where(Refund.id == refund.id, Refund.status == "requested")
                                 .values(status=decided)).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict(f"This refund is already {db.session.get(Refund, refund_id).status}.",
                       code="refund_already_decided")
    order = db.session.get(Order, refund.order_id)
    try:
        if approve:
            amount = refund.amount_fen if amount_fen is None else amount_fen
            if amount > refund.amount_fen:
                raise ValidationFailed("More than was asked for.", code="refund_exceeds_request",
                                       errors={"amount_fen": [f"At most {refund.amount_fen}."]})
            if not payments.reserve_refund(order, amount):
                raise Conflict("That is more than was paid minus what was refunded.", code="refund_exceeds_paid")
            shares = allocate_proportionally(amount, [item["amount_fen"] for item in refund.lines])
            refund.lines = [{**item, "amount_fen": share} for item, share in zip(refund.lines, shares)]
            for item in refund.lines:
                result = db.session.execute(update(OrderLine).where(
                    OrderLine.id == item["order_line_id"],
                    OrderLine.refunded_fen + item["amount_fen"] <= OrderLine.line_total_fen)
                    .values(refunded_fen=OrderLine.refunded_fen + item["amount_fen"]))
                if result.rowcount != 1:
                    raise Conflict("That is more than is left to refund on a line.", code="refund_exceeds_paid")
            refund.amount_fen = amount
        refund.decided_by_id, refund.decided_at, refund.decision_note = user.id, utcnow(), note
        record(order.id, f"refund_{refund.status}", actor_id=user.id, refund_id=refund.id,
               amount_fen=refund.amount_fen, note=note)
        if not approve:
            notify.refund_decided(order, refund)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if approve:
        return payments.execute_refund(refund_id=refund.id)  # after commit: the money moves
    return refund


def operator_refund(*, user, order_id: int, amount_fen: int, reason: str) -> Refund:
    """A platform operator refunds an amount directly (goodwill, shipping, disputes)."""
    if not user.is_platform_admin:
        raise NotFound("No such order.")
    order = get_order(user=user, order_id=order_id)
    try:
        refund = payments.open_refund(order, amount_fen=amount_fen, kind="other", actor_id=user.id, reason=reason)
        if refund is None:
            raise Conflict("That is more than was paid minus what was refunded.", code="refund_exceeds_paid")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return payments.execute_refund(refund_id=refund.id)


def list_order_refunds(*, user, order_id: int) -> list[Refund]:
    get_order(user=user, order_id=order_id)
    return list(db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)))


def list_supplier_refunds(*, user, status: str | None = None, limit: int, cursor: str | None = None):
    stmt = select(Refund).where(Refund.supplier_id.in_(member_supplier_ids(user=user)))
    if status:
        stmt = stmt.where(Refund.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Refund.id, lambda r: r.id, descending=True)], limit=limit,
                       cursor=cursor)
