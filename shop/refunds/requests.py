"""Refund requests after delivery: the buyer asks for lines back, the supplier of those lines decides
(shop.refunds.services.decide_refund). The 7-day no-reason return (七日无理由退货) and the photo rule for fresh
produce are checked here."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from shop.catalog.return_policies import confirmed_product_ids
from shop.database import utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.orders import events, notify
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.orders.services import get_order
from shop.refunds import services
from shop.refunds.models import Refund, RefundLine
from shop.transaction import transaction
from shop.refunds import error_codes

CHINA = ZoneInfo("Asia/Shanghai")
NO_REASON_DAYS = 7
OPEN_STATUSES = ("requested", "approved", "processing")
FRESH_POLICIES = ("excluded_fresh",)


def no_reason_deadline(delivered_at: dt.datetime) -> dt.date:
    """七日无理由退货: seven days counted from the day after the buyer signed for the parcel."""
    return delivered_at.astimezone(CHINA).date() + dt.timedelta(days=NO_REASON_DAYS)


def _open_amounts(order_id: int) -> dict[int, int]:
    """Per order line, the amount asked for in requests not yet decided (approved ones are counted as refunded
    on the line already)."""
    rows = db.session.execute(select(RefundLine.order_line_id, func.sum(RefundLine.amount_fen))
                              .join(Refund, Refund.id == RefundLine.refund_id)
                              .where(Refund.order_id == order_id, Refund.status == "requested",
                                     RefundLine.order_line_id.is_not(None))
                              .group_by(RefundLine.order_line_id))
    totals: dict[int, int] = defaultdict(int)
    totals.update({line_id: int(total) for line_id, total in rows})
    return totals


def _check_eligible(order: Order, line: OrderLine, fulfillment: Fulfillment, kind: str, photo_urls: list,
                    today: dt.date) -> None:
    if fulfillment.status != "delivered" or fulfillment.delivered_at is None:
        raise Conflict("Refunds are asked for after delivery; cancel the order before shipment instead.",
                       code=error_codes.NOT_DELIVERED)
    if kind == "no_reason_return":
        confirmed_exclusion = line.return_policy == "excluded_with_confirmation" and \
            line.product_id in confirmed_product_ids(order.return_confirmations)
        if line.return_policy in ("excluded_fresh", "excluded_custom") or confirmed_exclusion:
            raise Conflict(f"{line.product_name} is not returnable without a reason.", code=error_codes.NOT_RETURNABLE)
        if today > no_reason_deadline(fulfillment.delivered_at):
            raise Conflict("The 7-day no-reason return period is over.", code=error_codes.RETURN_WINDOW_CLOSED)
    if kind == "quality_claim" and (line.return_policy in FRESH_POLICIES or line.cold_chain) and not photo_urls:
        raise ValidationFailed("A quality claim on fresh produce needs photos.", code=error_codes.PHOTOS_REQUIRED,
                               errors={"photo_urls": ["At least one photo."]})


def request_refund(*, user, order_id: int, kind: str, items: list[dict], reason: str,
                   photo_urls: list[str] = (), today: dt.date | None = None) -> list[Refund]:
    """The buyer asks for lines back after delivery: one request per supplier whose lines are named, each for
    the unit price times the quantity, within what the line has paid and not yet refunded or asked for."""
    with transaction():
        refunds = _request(user=user, order_id=order_id, kind=kind, items=items, reason=reason,
                           photo_urls=photo_urls, today=today)
    return [services.load_refund(refund.id) for refund in refunds]


def _request(*, user, order_id, kind, items, reason, photo_urls, today) -> list[Refund]:
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
            raise ValidationFailed("No such line on this order.", code=error_codes.INVALID_LINE,
                                   errors={f"items.{index}.order_line_id": ["Not a line of this order."]})
        if item["quantity"] > line.quantity:
            raise ValidationFailed("More than was bought.", code=error_codes.INVALID_QUANTITY,
                                   errors={f"items.{index}.quantity": [f"At most {line.quantity}."]})
        _check_eligible(order, line, fulfillments[line.fulfillment_id], kind, list(photo_urls), today)
        amount = line.unit_price_fen * item["quantity"]
        if amount > line.paid_fen - line.refunded_fen - open_amounts[line.id]:
            raise Conflict("That is more than is left to refund on this line.", code=error_codes.REFUND_EXCEEDS_PAID)
        by_fulfillment[line.fulfillment_id].append(RefundLine(fulfillment_id=line.fulfillment_id,
                                                              order_line_id=line.id, quantity=item["quantity"],
                                                              amount_fen=amount))
    asked = sum(line.amount_fen for lines_ in by_fulfillment.values() for line in lines_)
    if asked > order.refundable_fen - sum(open_amounts.values()):
        raise Conflict("That is more than is left to refund on this order.", code=error_codes.REFUND_EXCEEDS_PAID)
    refunds = []
    for fulfillment_id, refund_lines in by_fulfillment.items():
        fulfillment = fulfillments[fulfillment_id]
        refund = Refund(order_id=order.id, fulfillment_id=fulfillment_id, supplier_id=fulfillment.supplier_id,
                        kind=kind, status="requested", amount_fen=sum(line.amount_fen for line in refund_lines),
                        lines=refund_lines, reason=reason, photo_urls=list(photo_urls), requested_by_id=user.id)
        db.session.add(refund)
        db.session.flush()
        events.refund_requested(order.id, actor_id=user.id, refund_id=refund.id, amount_fen=refund.amount_fen,
                                kind=kind)
        notify.refund_requested(order, refund)
        refunds.append(refund)
    return refunds
