"""Requisitions (采购申请): orders of channel procurement, placed by an organisation's member for the organisation.

The path, every step a move of the order's state machine (shop.orders.models.ORDER_TRANSITIONS):
    placed → awaiting_approval ─ within the placer's spending limit, in the same unit of work ─→ approved
                               ─ above it: an approver other than the placer approves ──────→ approved
                               ─ an approver rejects (with a reason) ──────────────────────→ rejected
                               ─ the placer or an approver withdraws ──────────────────────→ cancelled
    approved: stock reserved (conditional UPDATEs, as retail) and, on terms, the invoice issued; suppliers ship.
              Paid by card: → pending_payment at once, and the buyer pays as at checkout.
Volume tiers price the lines (price_items(channel="procurement")); each line keeps its list price.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy.exc import IntegrityError

from shop.accounts.services import get_user
from shop.addresses import services as addresses
from shop.catalog import stock
from shop.checkout import error_codes as checkout_codes
from shop.checkout import services as checkout
from shop.checkout.pricing import Quote, price_items
from shop.database import utcnow
from shop.errors import Conflict, Forbidden, NotFound, ShopError, ValidationFailed
from shop.extensions import db
from shop.fapiao import requests as fapiao_requests
from shop.notifications.services import enqueue
from shop.orders import events, notify, plans
from shop.orders.models import Order
from shop.orders.services import cancel_fulfillments, events_of, load_order, order_query, stock_lines
from shop.orders.state import move_order, record
from shop.pagination import SortKey, keyset_page
from shop.procurement import error_codes, invoices
from shop.procurement.models import Organization
from shop.procurement.organizations import get_organization, locked_organization, members_who_may, require_role
from shop.procurement.roles import LADDER
from shop.transaction import end_read, transaction

PAYMENT_METHODS = {"terms": "on_terms", "card": "card"}  # what the buyer chooses → the order's payment plan
APPROVAL_EVENTS = (events.PLACED, events.APPROVAL_REQUESTED, "approved", "rejected", "cancelled", "withdrawn")


# --- what may order ---------------------------------------------------------------------------------------------


def check_can_order(organization: Organization, *, plan: str) -> None:
    """Suspended or rejected organisations order nothing; on terms only an approved organisation with terms
    granted and no overdue invoice."""
    if organization.status in ("suspended", "rejected"):
        raise Conflict(f"The organisation is {organization.status}.", code=error_codes.ORGANIZATION_SUSPENDED)
    if plan != "on_terms":
        return
    if organization.status != "approved":
        raise Conflict("Only an approved organisation orders on terms.", code=error_codes.ORGANIZATION_NOT_APPROVED)
    if organization.payment_terms == "prepaid":
        raise Conflict("The platform has not granted this organisation payment terms; pay by card.",
                       code=error_codes.NO_PAYMENT_TERMS)
    if invoices.has_overdue(organization.id):
        raise Conflict("The organisation has overdue invoices; pay them before ordering on terms.",
                       code=error_codes.OVERDUE_INVOICES)


def pledging_organization(*, user, organization_id: int, plan: str, total_fen: int, locked: bool = False
                          ) -> Organization:
    """The organisation a member pledges for in a pre-sale campaign (shop.presale.pledges). A pledge waits for no
    approval (the order window closes), so it is within the member's own spending limit; and the organisation
    is approved, since institutions may be served first when the harvest is short. On terms as check_can_order
    says. `locked`: in the pledge's unit of work, the organisation's row held as of now."""
    member = require_role(user=user, organization_id=organization_id, action="place_requisition")
    organization = locked_organization(organization_id) if locked else get_organization(organization_id=organization_id)
    check_can_order(organization, plan=plan)
    if organization.status != "approved":
        raise Conflict("Only an approved organisation pledges.", code=error_codes.ORGANIZATION_NOT_APPROVED)
    if total_fen > member.spending_limit_fen:
        raise Forbidden(f"A pledge for the organisation is within your spending limit ({member.spending_limit_fen} "
                        f"分); this one is {total_fen} 分.", code=error_codes.OVER_SPENDING_LIMIT)
    return organization


def invoice_pledge(order: Order, *, actor_id: int | None) -> None:
    """A pre-sale pledge on terms, once its harvest is allocated (in the allocation's unit of work): the invoice
    for the units allotted, and the supplier told to ship, as at a requisition's approval."""
    invoice = invoices.issue(order, get_organization(organization_id=order.organization_id))
    events.invoice_issued(order.id, actor_id=actor_id, invoice_number=invoice.number,
                          due_on=invoice.due_on.isoformat(), amount_fen=invoice.amount_fen)
    notify.fulfillments_due(order, why="预售已分配（账期）")


def fapiao_request(organization: Organization, fapiao_type: str | None) -> dict | None:
    """The organisation's own fapiao details, as a 普通 or 专用 request (of a requisition or a pledge)."""
    if fapiao_type is None:
        return None
    if fapiao_type == "special" and not organization.taxpayer_id:
        raise ValidationFailed("A 专用发票 needs the organisation's taxpayer id (edit the organisation first).",
                               code=error_codes.SPECIAL_FAPIAO_NEEDS_TAXPAYER_ID,
                               errors={"fapiao_type": ["The organisation has no taxpayer id."]})
    # "地址 电话" and "开户行 账号": the phone and the account number are the last word (names may hold spaces).
    address, _, phone = organization.fapiao_address_phone.rpartition(" ")
    bank, _, account = organization.fapiao_bank_account.rpartition(" ")
    return {"type": fapiao_type, "title": organization.fapiao_title, "taxpayer_id": organization.taxpayer_id,
            "address": address or None, "phone": phone or None, "bank": bank or None, "account": account or None}


# --- placing --------------------------------------------------------------------------------------------------


def place_requisition(*, user, organization_id: int, items: list[dict], delivery_address: dict,
                      payment: str = "terms", requested_delivery_on: dt.date | None = None,
                      po_number: str | None = None, note: str = "", fapiao_type: str | None = None,
                      idempotency_key: str | None = None) -> Order:
    body = {"organization_id": organization_id, "items": items, "delivery_address": delivery_address,
            "payment": payment, "requested_delivery_on": requested_delivery_on, "po_number": po_number,
            "note": note, "fapiao_type": fapiao_type}
    fingerprint = checkout.fingerprint(body)
    if idempotency_key:
        existing = checkout.existing_order(user.id, idempotency_key)
        if existing is not None:
            return view(load_order(checkout.replay(existing, fingerprint).id))
    try:
        order_id = _place(user=user, organization_id=organization_id, items=items,
                          delivery_address=delivery_address, plan=PAYMENT_METHODS[payment],
                          requested_delivery_on=requested_delivery_on, po_number=po_number, note=note,
                          fapiao_type=fapiao_type, idempotency_key=idempotency_key, fingerprint=fingerprint)
    except (IntegrityError, ShopError):
        end_read()  # a concurrent request with the same key may have won: its order is this one's answer
        existing = checkout.existing_order(user.id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return view(load_order(checkout.replay(existing, fingerprint).id))
    return view(load_order(order_id))


def quote_requisition(items: list[dict], delivery_address: dict) -> tuple[dict, Quote]:
    """The delivery address's snapshot and the lines priced for an institution (volume tiers), to it."""
    pairs = checkout.item_pairs(items)
    snapshot = addresses.delivery_snapshot(**delivery_address, field="delivery_address.region_code")
    return snapshot, price_items(pairs, destination_codes=addresses.snapshot_destination_codes(snapshot),
                                 channel="procurement")


def _place(*, user, organization_id, items, delivery_address, plan, requested_delivery_on, po_number, note,
           fapiao_type, idempotency_key, fingerprint) -> int:
    require_role(user=user, organization_id=organization_id, action="place_requisition")
    organization = get_organization(organization_id=organization_id)
    check_can_order(organization, plan=plan)
    fapiao = fapiao_request(organization, fapiao_type)
    snapshot, quote = quote_requisition(items, delivery_address)
    if plans.check(plan, total_fen=quote.total_fen, deposit_fen=0):
        raise ValidationFailed("This order is larger than its payment can take; split it.",
                               code=checkout_codes.ORDER_TOO_LARGE)
    checkout.check_lines(quote, address_field="delivery_address")
    now = utcnow()
    with transaction() as tx:
        organization = locked_organization(organization_id)  # its status, terms and invoices, as of now
        check_can_order(organization, plan=plan)
        member = require_role(user=user, organization_id=organization_id, action="place_requisition")
        order = checkout.write_order(
            quote, now=now, buyer_id=user.id, organization_id=organization_id, channel="procurement",
            status="awaiting_approval", payment_plan=plan,
            payment_terms=organization.payment_terms if plan == "on_terms" else "prepaid",
            shipping_address=snapshot, buyer_region_code=organization.home_region_code, fapiao=fapiao,
            po_number=po_number, requested_delivery_on=requested_delivery_on, note=note,
            idempotency_key=idempotency_key, request_fingerprint=fingerprint)
        record(order.id, events.PLACED, actor_id=user.id, total_fen=order.total_fen, payment_plan=plan,
               organization_id=organization_id)
        fapiao_requests.open_for(order)
        order = load_order(order.id)
        if order.total_fen <= member.spending_limit_fen:
            _approve(tx, order, organization, actor=user, comment="", within_limit=True)
        else:
            record(order.id, events.APPROVAL_REQUESTED, actor_id=user.id, spending_limit_fen=member.spending_limit_fen)
            _tell_approvers(order, organization, placer=user)
    return order.id


def _approve(tx, order: Order, organization: Organization, *, actor, comment: str, within_limit: bool) -> None:
    check_can_order(organization, plan=order.payment_plan)
    if not within_limit:  # days may have passed since it was placed: still on sale, in season, delivered there?
        quote = price_items(stock_lines(order), channel="procurement",
                            destination_codes=addresses.snapshot_destination_codes(order.shipping_address))
        checkout.check_lines(quote, address_field="delivery_address")
    move_order(order, "approved", actor_id=actor.id, comment=comment, within_limit=within_limit)
    stock.reserve(stock_lines(order), order_id=order.id, actor_id=actor.id)  # 409 insufficient_stock: nothing moves
    if order.payment_plan == "on_terms":
        invoice = invoices.issue(order, organization)
        events_data = {"invoice_number": invoice.number, "due_on": invoice.due_on.isoformat()}
        record(order.id, events.STOCK_RESERVED, actor_id=actor.id, **events_data)
        notify.fulfillments_due(order, why="已审批（账期采购）")
    else:
        expires_at = utcnow() + dt.timedelta(minutes=current_app.config["UNPAID_ORDER_TTL_MINUTES"])
        record(order.id, events.STOCK_RESERVED, actor_id=actor.id)
        move_order(order, "pending_payment", actor_id=actor.id, values={"expires_at": expires_at})


def _tell(user_id: int, email: str, order: Order, template: str, subject: str, body: str) -> None:
    enqueue(email=email, user_id=user_id, template=template, order_id=order.id, subject=subject, body=body)


def _tell_approvers(order: Order, organization: Organization, *, placer) -> None:
    for member in members_who_may(organization.id, "approve_requisition"):
        if member.user_id != placer.id:
            _tell(member.user_id, member.user.email, order, "requisition_awaiting_approval",
                  f"采购申请 {order.number} 待审批 / Requisition awaiting approval",
                  f"{organization.name}：{placer.display_name} 提交的采购申请 {order.number} 超出其单笔限额，待您审批。")


def _tell_buyer(order: Order, decision: str, comment: str) -> None:
    buyer = get_user(user_id=order.buyer_id)
    _tell(buyer.id, buyer.email, order, f"requisition_{decision}", f"采购申请 {order.number}：{decision}",
          f"您的采购申请 {order.number} 已{ {'approved': '批准', 'rejected': '驳回'}[decision] }。{comment}")


# --- deciding -------------------------------------------------------------------------------------------------


def _requisition(organization_id: int, order_id: int) -> Order:
    order = load_order(order_id)
    if order is None or order.organization_id != organization_id:
        raise NotFound("No such requisition.")
    return order


def _awaiting(order: Order) -> None:
    if order.status != "awaiting_approval":
        raise Conflict(f"The requisition is {order.status}.", code=error_codes.NOT_AWAITING_APPROVAL)


def approve_requisition(*, user, organization_id: int, order_id: int, comment: str = "") -> Order:
    with transaction() as tx:
        require_role(user=user, organization_id=organization_id, action="approve_requisition")
        organization = locked_organization(organization_id)
        order = _requisition(organization_id, order_id)
        _awaiting(order)
        if order.buyer_id == user.id:
            raise Forbidden("Nobody approves their own requisition.", code=error_codes.OWN_REQUISITION)
        _approve(tx, order, organization, actor=user, comment=comment, within_limit=False)
        _tell_buyer(order, "approved", comment)
    return view(load_order(order_id))


def reject_requisition(*, user, organization_id: int, order_id: int, comment: str) -> Order:
    comment = comment.strip()
    if not comment:
        raise ValidationFailed("Say why: the buyer is told.", code=error_codes.REASON_REQUIRED,
                               errors={"comment": ["Required to reject."]})
    with transaction():
        require_role(user=user, organization_id=organization_id, action="approve_requisition")
        order = _requisition(organization_id, order_id)
        _awaiting(order)
        move_order(order, "rejected", actor_id=user.id, comment=comment)
        cancel_fulfillments(order)  # nothing will ship, nor be invoiced
        _tell_buyer(order, "rejected", comment)
    return view(load_order(order_id))


def withdraw_requisition(*, user, organization_id: int, order_id: int, comment: str = "") -> Order:
    """The placer (or an approver) takes back a requisition still waiting: nothing was reserved."""
    with transaction():
        member = require_role(user=user, organization_id=organization_id, action="place_requisition")
        order = _requisition(organization_id, order_id)
        if order.buyer_id != user.id and not LADDER.allows(member.role, "approve_requisition"):
            raise NotFound("No such requisition.")
        _awaiting(order)
        move_order(order, "cancelled", actor_id=user.id, event="withdrawn", values={"cancelled_at": utcnow()},
                   comment=comment)
        cancel_fulfillments(order)
    return view(load_order(order_id))


# --- reading --------------------------------------------------------------------------------------------------


def _sees_all(member) -> bool:
    return LADDER.allows(member.role, "view_requisitions")


def get_requisition(*, user, organization_id: int, order_id: int) -> Order:
    """Buyers see the requisitions they placed; approvers and admins every one of the organisation's."""
    member = require_role(user=user, organization_id=organization_id, action="view")
    order = _requisition(organization_id, order_id)
    if order.buyer_id != user.id and not _sees_all(member):
        raise NotFound("No such requisition.")
    return view(order)


def list_requisitions(*, user, organization_id: int, status: str | None = None, mine: bool = False, limit: int,
                      cursor: str | None):
    member = require_role(user=user, organization_id=organization_id, action="view")
    stmt = order_query().where(Order.organization_id == organization_id)
    if mine or not _sees_all(member):
        stmt = stmt.where(Order.buyer_id == user.id)
    if status:
        stmt = stmt.where(Order.status == status)
    page = keyset_page(db.session, stmt, keys=[SortKey(Order.id, lambda o: o.id, descending=True)], limit=limit,
                       cursor=cursor)
    attach(page["items"])
    return page


def view(order: Order) -> Order:
    attach([order])
    return order


def attach(orders: list[Order]) -> None:
    """Each requisition's invoice and approval history, two queries for the whole list (shown with the order)."""
    ids = [order.id for order in orders]
    by_order = {invoice.order_id: invoice for invoice in invoices.invoices_of(ids)}
    history = events_of(ids, APPROVAL_EVENTS)
    for order in orders:
        order.invoice = by_order.get(order.id)
        order.approval_history = history[order.id]
