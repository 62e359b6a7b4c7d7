"""Pledges: a shopper reserves units of an open campaign. A pledge is an order of channel presale, at the
campaign's price, paid by its plan: `deposit_balance` (deposit = deposit per unit × quantity, by card now; the
balance after allocation) or `card` for a full prepayment. Its deposit PaymentIntent opens after commit.

A member may pledge for an approved organisation (`organization_id`, checked by shop.procurement): the order is
the organisation's and counts for its home region; paid by card as above, or `payment: terms` when the platform
granted the organisation terms: plan `on_terms`, status `approved` at once, nothing paid before the harvest and
the invoice issued for what allocation allots (shop.presale.harvest). Its per-buyer limit is the organisation's.

Capacity is the campaign's own counter: `UPDATE campaign SET pledged_quantity = pledged_quantity + :q WHERE id = :id
AND status = 'open' AND pledged_quantity + :q <= capacity` (atomic on SQLite and PostgreSQL). The per-buyer limit
is checked after that UPDATE: on PostgreSQL the UPDATE holds the campaign row until commit, so two pledges of
one buyer are serialised there and the second's count sees the first; on SQLite the unit of work holds the
write lock from its start.

Capacity comes back whenever a pledge's order has its fulfilments cancelled (withdrawal, expiry of an unpaid
pledge, campaign cancellation): `_release_capacity` listens to orders' `fulfillments_cancelled`, and releases a
pledge once (a conditional UPDATE on its status).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from shop.addresses import services as addresses
from shop.catalog.return_policies import NEEDS_CONFIRMATION, confirmation_record
from shop.checkout import error_codes as checkout_errors
from shop.checkout.pricing import price_items
from shop.checkout.services import check_lines, existing_order, fingerprint, replay, write_order
from shop.database import utcnow
from shop.errors import Conflict, NotFound, PaymentProviderError, ShopError, ValidationFailed
from shop.extensions import db
from shop.fapiao import requests as fapiao_requests
from shop.orders import events, plans
from shop.orders.models import Order
from shop.orders.services import cancel_fulfillments, load_order, reduce_line
from shop.orders.signals import fulfillments_cancelled
from shop.orders.state import move_order, record, try_move_order
from shop.payments import services as payments
from shop.payments.models import Payment
from shop.presale import error_codes
from shop.presale.campaigns import locked_campaign, public_campaign
from shop.presale.models import Campaign, Pledge
from shop.procurement import requisitions as procurement
from shop.refunds import services as refunds
from shop.transaction import Transaction, end_read, transaction


# A pledge ships from the harvest: not before its campaign has been allocated (shop.presale.harvest lifts it).
SHIPPING_HOLD = "pre-sale: ships once the harvest is allocated"


@dataclass
class PledgeResult:
    pledge: Pledge
    order: Order
    payment: Payment | None
    payment_error: str | None = None


def _closed(campaign: Campaign) -> Conflict:
    return Conflict(f"The campaign takes no pledges now (it is {campaign.status}, orders "
                    f"{campaign.opens_at:%Y-%m-%d %H:%M} to {campaign.closes_at:%Y-%m-%d %H:%M} UTC).",
                    code=error_codes.CAMPAIGN_CLOSED)


def _pledge_of(order_id: int) -> Pledge | None:
    return db.session.scalar(select(Pledge).where(Pledge.order_id == order_id)
                             .execution_options(populate_existing=True))


def _result(order_id: int, payment: Payment | None, payment_error: str | None = None) -> PledgeResult:
    return PledgeResult(pledge=_pledge_of(order_id), order=load_order(order_id), payment=payment,
                        payment_error=payment_error)


# --- pledging -----------------------------------------------------------------------------------------------


def pledge(*, user, campaign_id: int, quantity: int, address_id: int, return_confirmations: list[int] = (),
           note: str = "", organization_id: int | None = None, payment: str = "card",
           fapiao_type: str | None = None, idempotency_key: str | None = None) -> PledgeResult:
    """Reserve `quantity` units; then open the PaymentIntent of the deposit (or of the full price), unless the
    pledge is on terms. The same Idempotency-Key with the same body answers the same pledge."""
    body = {"campaign_id": campaign_id, "quantity": quantity, "address_id": address_id,
            "return_confirmations": sorted(return_confirmations), "note": note,
            "organization_id": organization_id, "payment": payment, "fapiao_type": fapiao_type}
    request_fingerprint = fingerprint(body)
    order = existing_order(user.id, idempotency_key) if idempotency_key else None
    if order is not None:
        order_id = replay(order, request_fingerprint).id
    else:
        try:
            order_id = _pledge(user=user, campaign_id=campaign_id, quantity=quantity, address_id=address_id,
                               return_confirmations=set(return_confirmations), note=note,
                               organization_id=organization_id, on_terms=payment == "terms",
                               fapiao_type=fapiao_type,
                               idempotency_key=idempotency_key, request_fingerprint=request_fingerprint)
        except (IntegrityError, ShopError):
            # A concurrent request with the same key may have won: its pledge is this request's answer.
            end_read()
            order = existing_order(user.id, idempotency_key) if idempotency_key else None
            if order is None:
                raise
            order_id = replay(order, request_fingerprint).id
    if payment == "terms":
        return _result(order_id, None)  # invoiced after the allocation: nothing to pay now
    try:
        card, problem = payments.ensure_intent(order_id=order_id), None
    except (PaymentProviderError, Conflict) as error:
        # The pledge stands with its capacity held; the buyer retries POST /orders/{id}/payment.
        due = plans.due_part(load_order(order_id))
        card, problem = payments.card_payment(order_id, due.part.kind if due else "deposit"), error.detail
    return _result(order_id, card, problem)


def _pledge(*, user, campaign_id, quantity, address_id, return_confirmations, note, organization_id, on_terms,
            fapiao_type, idempotency_key, request_fingerprint) -> int:
    campaign = public_campaign(viewer=user, campaign_id=campaign_id)
    if not campaign.takes_pledges(utcnow()):
        raise _closed(campaign)
    address = addresses.get_address(user=user, address_id=address_id)
    # Priced at the campaign's price; shipping quoted on those totals (see price_items).
    quote = price_items([(campaign.sku_id, quantity)], destination_codes=addresses.destination_codes(address),
                        unit_prices={campaign.sku_id: campaign.unit_price_fen})
    check_lines(quote)
    product = quote.lines[0].product
    if product.return_policy == NEEDS_CONFIRMATION and product.id not in return_confirmations:
        raise ValidationFailed("Confirm that this product is not returnable without reason.",
                               code=checkout_errors.RETURN_CONFIRMATION_REQUIRED,
                               errors={"return_confirmations": [product.id]})
    deposit_fen = 0 if on_terms else campaign.deposit_per_unit_fen * quantity
    payment_plan = "on_terms" if on_terms else "deposit_balance" if deposit_fen else "card"
    if (on_terms or fapiao_type) and organization_id is None:
        raise ValidationFailed("Only a pledge for an organisation is on terms or asks for its fapiao.",
                               code=error_codes.ORGANIZATION_REQUIRED,
                               errors={"organization_id": ["Required with payment terms or a fapiao type."]})
    fapiao = None
    if organization_id is not None:
        organization = procurement.pledging_organization(user=user, organization_id=organization_id,
                                                         plan=payment_plan, total_fen=quote.total_fen)
        fapiao = procurement.fapiao_request(organization, fapiao_type)
    if plans.check(payment_plan, total_fen=quote.total_fen, deposit_fen=deposit_fen):
        raise ValidationFailed("This pledge is larger than one payment can take; pledge less.",
                               code=checkout_errors.ORDER_TOO_LARGE)
    now = utcnow()
    with transaction():
        organization = None if organization_id is None else procurement.pledging_organization(
            user=user, organization_id=organization_id, plan=payment_plan, total_fen=quote.total_fen, locked=True)
        _take_capacity(campaign_id, quantity, buyer_id=user.id, organization_id=organization_id)
        confirmations = [confirmation_record(product.id, confirmed_at=now)] \
            if product.return_policy == NEEDS_CONFIRMATION else []
        ttl = dt.timedelta(minutes=current_app.config["UNPAID_ORDER_TTL_MINUTES"])
        order = write_order(quote, now=now, buyer_id=user.id, organization_id=organization_id, channel="presale",
                            status="approved" if on_terms else "pending_payment",
                            payment_terms=organization.payment_terms if on_terms else "prepaid",
                            shipping_address=addresses.snapshot(address),
                            buyer_region_code=organization.home_region_code if organization else user.home_region_code,
                            note=note, return_confirmations=confirmations, idempotency_key=idempotency_key,
                            request_fingerprint=request_fingerprint, expires_at=None if on_terms else now + ttl,
                            payment_plan=payment_plan, deposit_fen=deposit_fen, shipping_hold=SHIPPING_HOLD,
                            fapiao=fapiao)
        fapiao_requests.open_for(order)
        db.session.add(Pledge(campaign_id=campaign_id, order_id=order.id, buyer_id=user.id, quantity=quantity))
        record(order.id, events.PLACED, actor_id=user.id, total_fen=order.total_fen, payment_plan=payment_plan,
               campaign_id=campaign_id, quantity=quantity, organization_id=organization_id)
        return order.id


def _take_capacity(campaign_id: int, quantity: int, *, buyer_id: int, organization_id: int | None) -> None:
    """In the pledge's unit of work: the campaign's counter, then the buyer's limit (see the module docstring):
    an organisation's pledges count together, whichever member placed them; a shopper's own apart from them."""
    taken = db.session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "open",
                               Campaign.closes_at > utcnow(),
                               Campaign.pledged_quantity + quantity <= Campaign.capacity)
        .values(pledged_quantity=Campaign.pledged_quantity + quantity)
        .execution_options(synchronize_session=False)).rowcount
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                 .execution_options(populate_existing=True))
    if taken != 1:
        if not campaign.takes_pledges(utcnow()):
            raise _closed(campaign)
        raise Conflict(f"Only {campaign.remaining_quantity} units are left in this campaign.",
                       code=error_codes.CAMPAIGN_FULL, errors={"quantity": [f"At most {campaign.remaining_quantity}."]})
    if campaign.per_buyer_limit is not None:
        whose = Order.organization_id == organization_id if organization_id is not None else \
            and_(Pledge.buyer_id == buyer_id, Order.organization_id.is_(None))
        held = db.session.scalar(select(func.coalesce(func.sum(Pledge.quantity), 0))
                                 .join(Order, Order.id == Pledge.order_id)
                                 .where(Pledge.campaign_id == campaign_id, Pledge.status == "active", whose))
        if held + quantity > campaign.per_buyer_limit:
            holder = "the organisation holds" if organization_id is not None else "you hold"
            raise Conflict(f"You may pledge {campaign.per_buyer_limit} units in all; {holder} {held}.",
                           code=error_codes.PER_BUYER_LIMIT,
                           errors={"quantity": [f"At most {max(campaign.per_buyer_limit - held, 0)}."]})


# --- giving capacity back -----------------------------------------------------------------------------------


@fulfillments_cancelled.connect
def _release_capacity(order_id: int) -> bool:
    """A pledge's order was cancelled (withdrawn, expired unpaid, campaign cancelled): its units go back to the
    campaign, once, in the caller's unit of work."""
    pledge_ = _pledge_of(order_id)
    if pledge_ is None:
        return False
    released = db.session.execute(update(Pledge).where(Pledge.id == pledge_.id, Pledge.status == "active")
                                  .values(status="released", released_at=utcnow())
                                  .execution_options(synchronize_session=False)).rowcount
    if released:
        db.session.execute(update(Campaign).where(Campaign.id == pledge_.campaign_id)
                           .values(pledged_quantity=Campaign.pledged_quantity - pledge_.quantity)
                           .execution_options(synchronize_session=False))
    db.session.expire(pledge_)
    return bool(released)


def cancel_pledge_order(tx: Transaction, order: Order, *, actor_id: int | None, reason: str, strict: bool) -> None:
    """The order cancelled (capacity back through the signal), everything paid refunded line by line, and any
    open PaymentIntent closed after commit (the cancellation pattern of shop.orders.cancellation)."""
    values = {"cancelled_at": utcnow()}
    if strict:
        move_order(order, "cancelled", actor_id=actor_id, values=values, reason=reason)
    elif not try_move_order(order, "cancelled", actor_id=actor_id, values=values, reason=reason):
        return
    cancel_fulfillments(order)
    if order.paid_fen > 0:
        refunds.open_cancellation_refund(tx, order_id=order.id, actor_id=actor_id)
    tx.after_commit(lambda order_id=order.id: payments.cancel_open_intents(order_id=order_id))


def reduce(*, user, campaign_id: int, order_id: int, quantity: int) -> PledgeResult:
    """The buyer pledges fewer units while the campaign is open: the units dropped go back to the campaign, what
    was paid for them (the deposit per unit, or the price of a full prepayment) is refunded, and the line is cut
    to `quantity` (shipping stays as quoted). Asking for the quantity the pledge holds changes nothing, so a
    retried request answers the same. An unpaid pledge is not reduced (its PaymentIntent asks for the whole
    deposit): withdraw it and pledge again."""
    with transaction() as tx:
        pledge_ = _own_pledge(user, campaign_id, order_id)
        campaign = locked_campaign(campaign_id)
        pledge_ = _pledge_of(order_id)  # as of the lock
        if not campaign.takes_pledges(utcnow()):
            raise _closed(campaign)
        if pledge_.status != "active":
            raise Conflict("This pledge was withdrawn or cancelled already.", code=error_codes.PLEDGE_RELEASED)
        if quantity > pledge_.quantity:
            raise ValidationFailed(f"The pledge holds {pledge_.quantity} units; pledge again for more.",
                                   code=error_codes.NOT_A_REDUCTION,
                                   errors={"quantity": [f"At most {pledge_.quantity}."]})
        if quantity == pledge_.quantity:
            return _result(order_id, None)
        order = load_order(order_id)
        if order.status == "pending_payment":
            raise Conflict("Pay the deposit first, or withdraw the pledge and pledge again.",
                           code=error_codes.PLEDGE_UNPAID)
        dropped, line = pledge_.quantity - quantity, order.lines[0]
        if order.payment_plan != "on_terms":  # on terms nothing was paid before the harvest
            refunds.open_units_refund(tx, order_id=order.id, order_line_id=line.id, units=dropped,
                                      amount_fen=dropped * (campaign.deposit_per_unit_fen or line.unit_price_fen),
                                      kind="pledge_reduced", reason=f"pledge reduced from {pledge_.quantity} to "
                                                                    f"{quantity} units", actor_id=user.id)
        reduce_line(order, order_line_id=line.id, quantity=quantity,
                    deposit_fen=campaign.deposit_per_unit_fen * quantity if order.deposit_fen else 0,
                    reason="pledge reduced by the buyer", actor_id=user.id)
        db.session.execute(update(Pledge).where(Pledge.id == pledge_.id).values(quantity=quantity))
        db.session.execute(update(Campaign).where(Campaign.id == campaign_id)
                           .values(pledged_quantity=Campaign.pledged_quantity - dropped)
                           .execution_options(synchronize_session=False))
    return _result(order_id, None)


def _own_pledge(user, campaign_id: int, order_id: int) -> Pledge:
    pledge_ = _pledge_of(order_id)
    if pledge_ is None or pledge_.campaign_id != campaign_id or pledge_.buyer_id != user.id:
        raise NotFound("No such pledge.")
    return pledge_


def withdraw(*, user, campaign_id: int, order_id: int) -> PledgeResult:
    """The buyer takes the pledge back while the campaign is open: the units return to the campaign and the
    deposit (or the full price) is refunded."""
    with transaction() as tx:
        pledge_ = _own_pledge(user, campaign_id, order_id)
        campaign = locked_campaign(campaign_id)
        if not campaign.takes_pledges(utcnow()):
            raise _closed(campaign)
        if pledge_.status != "active":
            raise Conflict("This pledge was withdrawn or cancelled already.", code=error_codes.PLEDGE_RELEASED)
        cancel_pledge_order(tx, load_order(order_id), actor_id=user.id, reason="pledge withdrawn", strict=True)
    return _result(order_id, None)


def active_pledges(campaign_id: int) -> list[Pledge]:
    """The pledges holding capacity (top-ups included), in id order."""
    return list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign_id, Pledge.status == "active")
                                   .order_by(Pledge.id).execution_options(populate_existing=True)))


def list_my_pledges(*, user, campaign_id: int) -> list[Pledge]:
    public_campaign(viewer=user, campaign_id=campaign_id)
    return list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign_id,
                                                        Pledge.buyer_id == user.id).order_by(Pledge.id)))
