"""Standing orders (定期供货): a canteen's weekly or monthly supply, placed by a job as a requisition of the member
who set it up, on the organisation's terms and through the usual spending-limit approval.

Each period is placed at most once, even when the job runs twice or on two workers: the requisition's
idempotency key is the period (standing:<id>:<period start>), so a second placement returns the first order, and
the period's run row is unique. A period that cannot be placed (stock short, the organisation suspended, an
overdue invoice...) is skipped with the reason recorded and the buyer told. Only the current period is placed:
a job that was down for a week does not deliver last week's vegetables.
"""
from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.accounts.services import get_user
from shop.checkout import services as checkout
from shop.database import local_today
from shop.errors import Conflict, NotFound, ShopError, ValidationFailed
from shop.extensions import db
from shop.notifications.services import enqueue
from shop.pagination import SortKey, keyset_page
from shop.procurement import error_codes
from shop.procurement.models import StandingOrder, StandingOrderRun
from shop.procurement.organizations import get_organization, require_role
from shop.procurement.requisitions import check_can_order, place_requisition, quote_requisition
from shop.procurement.roles import LADDER
from shop.transaction import end_read, transaction

MAX_DURATION = dt.timedelta(days=366)
STATUS_CHANGES = {"active": {"paused", "ended"}, "paused": {"active", "ended"}, "ended": set()}


def period_start(standing: StandingOrder, today: dt.date) -> dt.date | None:
    """The start of the period `today` falls in, or None before the first and after the end date."""
    if today < standing.starts_on or today > standing.ends_on:
        return None
    if standing.frequency == "weekly":
        return standing.starts_on + dt.timedelta(days=(today - standing.starts_on).days // 7 * 7)
    months = (today.year - standing.starts_on.year) * 12 + today.month - standing.starts_on.month
    for back in (0, 1):  # this month's delivery day, or last month's if it is still ahead
        year, month = divmod(standing.starts_on.year * 12 + standing.starts_on.month - 1 + months - back, 12)
        day = min(standing.starts_on.day, calendar.monthrange(year, month + 1)[1])
        start = dt.date(year, month + 1, day)
        if start <= today:
            return start
    return None


# --- the buyer's verbs ----------------------------------------------------------------------------------------


def _validate(items: list[dict], delivery_address: dict, starts_on: dt.date, ends_on: dt.date) -> dict:
    if ends_on < starts_on or ends_on - starts_on > MAX_DURATION:
        raise ValidationFailed("The end date is before the start or more than a year after it.",
                               code=error_codes.INVALID_SCHEDULE, errors={"ends_on": ["Within a year of starts_on."]})
    snapshot, quote = quote_requisition(items, delivery_address)
    # Stock, season and delivery are each period's business; the SKU and its quantity rules are checked now.
    checkout.check_lines(quote, address_field="delivery_address", checks=("unavailable", "quantity"))
    return snapshot


def create_standing_order(*, user, organization_id: int, items: list[dict], delivery_address: dict,
                          frequency: str, starts_on: dt.date, ends_on: dt.date, po_number: str | None = None,
                          note: str = "") -> StandingOrder:
    require_role(user=user, organization_id=organization_id, action="manage_standing_orders")
    check_can_order(get_organization(organization_id=organization_id), plan="on_terms")
    snapshot = _validate(items, delivery_address, starts_on, ends_on)
    with transaction():
        standing = StandingOrder(organization_id=organization_id, buyer_id=user.id, frequency=frequency,
                                 lines=[{"sku_id": i["sku_id"], "quantity": i["quantity"]} for i in items],
                                 delivery_address={k: snapshot[k] for k in delivery_address}, starts_on=starts_on,
                                 ends_on=ends_on, po_number=po_number, note=note)
        db.session.add(standing)
    return get_standing_order(user=user, organization_id=organization_id, standing_order_id=standing.id)


def _visible(user, organization_id: int, standing_order_id: int) -> StandingOrder:
    member = require_role(user=user, organization_id=organization_id, action="view")
    standing = db.session.get(StandingOrder, standing_order_id)
    if standing is None or standing.organization_id != organization_id or (
            standing.buyer_id != user.id and not LADDER.allows(member.role, "view_requisitions")):
        raise NotFound("No such standing order.")
    return standing


def get_standing_order(*, user, organization_id: int, standing_order_id: int) -> StandingOrder:
    standing = _visible(user, organization_id, standing_order_id)
    standing.runs = list(db.session.scalars(select(StandingOrderRun).where(
        StandingOrderRun.standing_order_id == standing.id).order_by(StandingOrderRun.period_start.desc())
        .limit(24)))
    return standing


def list_standing_orders(*, user, organization_id: int, limit: int, cursor: str | None):
    member = require_role(user=user, organization_id=organization_id, action="view")
    stmt = select(StandingOrder).where(StandingOrder.organization_id == organization_id)
    if not LADDER.allows(member.role, "view_requisitions"):
        stmt = stmt.where(StandingOrder.buyer_id == user.id)
    return keyset_page(db.session, stmt, keys=[SortKey(StandingOrder.id, lambda s: s.id, descending=True)],
                       limit=limit, cursor=cursor)


def set_status(*, user, organization_id: int, standing_order_id: int, status: str) -> StandingOrder:
    """Pause, resume or end: its buyer, or an approver."""
    with transaction():
        standing = _visible(user, organization_id, standing_order_id)
        if status != standing.status:
            if status not in STATUS_CHANGES[standing.status]:
                raise Conflict("An ended standing order stays ended.", code=error_codes.STANDING_ORDER_ENDED)
            standing.status = status
    return get_standing_order(user=user, organization_id=organization_id, standing_order_id=standing_order_id)


# --- the job --------------------------------------------------------------------------------------------------


def run_standing_orders(*, today: dt.date | None = None, batch: int = 500) -> dict:
    """Place the current period of every active standing order that has none yet, in batches of ids."""
    today = today or local_today()
    outcomes = {"placed": 0, "skipped": 0, "already_done": 0, "ended": 0}
    last_id = 0
    while True:
        ids = list(db.session.scalars(select(StandingOrder.id).where(
            StandingOrder.status == "active", StandingOrder.starts_on <= today, StandingOrder.id > last_id)
            .order_by(StandingOrder.id).limit(batch)))
        end_read()
        for standing_id in ids:
            outcomes[_run_one(standing_id, today)] += 1
        if len(ids) < batch:
            return outcomes
        last_id = ids[-1]


def _run_one(standing_id: int, today: dt.date) -> str:
    standing = db.session.get(StandingOrder, standing_id)
    if today > standing.ends_on:
        with transaction():
            db.session.get(StandingOrder, standing_id).status = "ended"
        return "ended"
    start = period_start(standing, today)
    if start is None or _run_of(standing_id, start) is not None:
        end_read()
        return "already_done"
    key = f"standing:{standing_id}:{start.isoformat()}"
    buyer = get_user(user_id=standing.buyer_id)
    args = dict(user=buyer, organization_id=standing.organization_id, items=list(standing.lines),
                delivery_address=dict(standing.delivery_address), payment="terms", requested_delivery_on=start,
                po_number=standing.po_number, note=standing.note or f"定期供货 {start.isoformat()}",
                idempotency_key=key)
    end_read()
    try:
        order = place_requisition(**args)
    except ShopError as error:
        end_read()
        placed = checkout.existing_order(buyer.id, key)  # another worker may have placed the period meanwhile
        if placed is not None:
            return _record(standing_id, start, outcome="placed", order_id=placed.id, buyer=None)
        return _record(standing_id, start, outcome="skipped", reason=error.detail,
                       details={"code": error.code, "errors": error.errors or {}}, buyer=buyer)
    return _record(standing_id, start, outcome="placed", order_id=order.id, buyer=None)


def _run_of(standing_id: int, start: dt.date) -> StandingOrderRun | None:
    return db.session.scalar(select(StandingOrderRun).where(StandingOrderRun.standing_order_id == standing_id,
                                                            StandingOrderRun.period_start == start))


def _record(standing_id: int, start: dt.date, *, outcome: str, buyer, reason: str = "", details=None,
            order_id: int | None = None) -> str:
    """The period's one run row; a concurrent job's row wins and this one changes nothing (nor tells anyone)."""
    try:
        with transaction():
            db.session.add(StandingOrderRun(standing_order_id=standing_id, period_start=start, outcome=outcome,
                                            order_id=order_id, reason=reason, details=details or {}))
            db.session.flush()
            if buyer is not None:
                enqueue(email=buyer.email, user_id=buyer.id, template="standing_order_skipped",
                        subject=f"定期供货 {start.isoformat()} 未能下单 / Standing order period skipped",
                        body=f"本期定期供货未能下单：{reason}")
    except IntegrityError:
        return "already_done"
    return outcome
