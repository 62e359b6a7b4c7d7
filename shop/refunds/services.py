"""The refund lifecycle (transitions: shop.refunds.models.REFUND_TRANSITIONS) and every write to what is
refunded. Buyers' requests are shop.refunds.requests; this module opens, decides and executes.

Opening a refund reserves its amount, in one transaction, on three levels that can each refuse it: the order
(never more than paid minus refunded; this UPDATE also serialises an order's concurrent refunds), its lines
and shipping (shop.orders.ledger), and its payments (shop.payments.refunding, in the documented draw order).
The money moves after commit: each card part through the provider; a bank-transfer part waits for an
operator to send it and record the bank's reference. A part the provider refuses is released on all three
levels, so what stays counted is what went back.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import utcnow
from shop.errors import Conflict, NotFound, PaymentProviderError, ValidationFailed
from shop.extensions import db
from shop.orders import events, ledger, notify
from shop.orders import services as orders
from shop.orders.ledger import Share
from shop.orders.state import IllegalTransition
from shop.pagination import SortKey, keyset_page
from shop.payments import refunding as payments
from shop.refunds.models import OWED_BY_TRANSFER_IF_REFUSED, Refund, RefundLine, RefundPart
from shop.suppliers.services import member_supplier_ids, require_role
from shop.transaction import Transaction, transaction
from shop.refunds import error_codes


def refund_query():
    return select(Refund).options(selectinload(Refund.lines), selectinload(Refund.parts))


def load_refund(refund_id: int) -> Refund | None:
    return db.session.scalar(refund_query().where(Refund.id == refund_id).execution_options(populate_existing=True))


def shares_of(refund: Refund) -> list[Share]:
    return [Share(line.fulfillment_id, line.order_line_id, line.amount_fen, line.quantity) for line in refund.lines]


def _move(refund: Refund, to: str, **values) -> bool:
    """Conditional on the status read: of two workers making the same move, the second matches nothing."""
    if not refund.can_move_to(to):
        return False
    return db.session.execute(update(Refund).where(Refund.id == refund.id, Refund.status == refund.status)
                              .values(status=to, **values)).rowcount == 1


def _exceeds(detail: str = "That is more than was paid minus what was refunded.") -> Conflict:
    return Conflict(detail, code=error_codes.REFUND_EXCEEDS_PAID)


def _reserve(order_id: int, shares: list[Share], *, payment_id: int | None = None
             ) -> tuple[list[RefundLine], list[RefundPart]]:
    """Count the shares as refunded on the order, its items and its payments, and return the refund's rows;
    raise (the caller's transaction rolls back) if any of them has not that much left."""
    if not ledger.reserve_refund(order_id, shares):
        raise _exceeds()
    draws = payments.reserve_draws(order_id, sum(s.amount_fen for s in shares), payment_id=payment_id)
    if draws is None:
        raise _exceeds("The order's payments cannot cover that refund.")
    return ([RefundLine(fulfillment_id=s.fulfillment_id, order_line_id=s.order_line_id, quantity=s.quantity,
                        amount_fen=s.amount_fen) for s in shares],
            [RefundPart(payment_id=d.payment_id, provider=d.provider, amount_fen=d.amount_fen) for d in draws])


def _open(tx: Transaction, *, order_id: int, shares: list[Share], kind: str, actor_id: int | None, reason: str,
          payment_id: int | None = None) -> Refund:
    """An approved refund, reserved now and executed after the caller's commit."""
    lines, parts = _reserve(order_id, shares, payment_id=payment_id)
    refund = Refund(order_id=order_id, kind=kind, status="approved", amount_fen=sum(s.amount_fen for s in shares),
                    reason=reason, requested_by_id=actor_id, decided_by_id=actor_id, decided_at=utcnow(),
                    lines=lines, parts=parts)
    db.session.add(refund)
    db.session.flush()
    events.refund_moved(order_id, "approved", refund_id=refund.id, amount_fen=refund.amount_fen, actor_id=actor_id,
                        kind=kind)
    tx.after_commit(lambda refund_id=refund.id: execute_refund(refund_id=refund_id))
    return refund


def open_cancellation_refund(tx: Transaction, *, order_id: int, actor_id: int | None) -> Refund | None:
    """Everything still refundable on a cancelled order, line by line and shipping by shipping."""
    shares = ledger.refundable_shares(order_id)
    if not shares:
        return None
    return _open(tx, order_id=order_id, shares=shares, kind="cancellation", actor_id=actor_id,
                 reason="order cancelled before shipment")


def open_units_refund(tx: Transaction, *, order_id: int, order_line_id: int, units: int, amount_fen: int,
                      kind: str, reason: str, actor_id: int | None) -> Refund:
    """Units of a pre-sale line the order will not get (a short harvest: `harvest_shortfall`; the buyer pledging
    fewer: `pledge_reduced`): what was paid for them goes back, from that line first (see
    ledger.line_first_shares), before the line is cut. Raises 409 if the order does not hold that much."""
    shares = ledger.line_first_shares(order_id, order_line_id, amount_fen, quantity=units)
    if sum(share.amount_fen for share in shares) != amount_fen:
        raise _exceeds()
    return _open(tx, order_id=order_id, shares=shares, kind=kind, actor_id=actor_id, reason=reason)


def refund_payment(tx: Transaction, *, order_id: int, payment_id: int, amount_fen: int, reason: str) -> Refund:
    """Give one payment's money back (a payment that arrived after cancellation), spread over the order."""
    return _open(tx, order_id=order_id, shares=ledger.refundable_shares(order_id, amount_fen), kind="other",
                 actor_id=None, reason=reason, payment_id=payment_id)


def operator_refund(*, user, order_id: int, amount_fen: int, reason: str) -> Refund:
    """A platform operator refunds an amount directly (goodwill, shipping, disputes), spread over the order's
    lines and shipping in proportion to what each has paid and not yet refunded."""
    if not user.is_platform_admin:
        raise NotFound("No such order.")
    with transaction() as tx:
        order = orders.get_order(user=user, order_id=order_id)
        if amount_fen > order.refundable_fen:
            raise _exceeds()
        shares = ledger.refundable_shares(order.id, amount_fen)
        if sum(share.amount_fen for share in shares) != amount_fen:
            # A concurrent refund took part of it since the order was read: the shares were cut to what is left,
            # and the operator asked for this amount, not less.
            raise _exceeds()
        refund = _open(tx, order_id=order.id, shares=shares, kind="other", actor_id=user.id, reason=reason)
        audit.record(tx, actor=user, action=audit_actions.REFUND_OPENED_BY_OPERATOR, target_type="refund",
                     target_id=refund.id, after={"order_id": order.id, "amount_fen": amount_fen, "reason": reason})
    return load_refund(refund.id)


def _refund_for_decider(user, refund_id: int) -> Refund:
    """Operators, and members of the refund's supplier whose role may decide refunds (suppliers.roles); to
    non-members it does not exist."""
    refund = load_refund(refund_id)
    if refund is None or not (user.is_platform_admin or refund.supplier_id):
        raise NotFound("No such refund.")
    if not user.is_platform_admin:
        try:
            require_role(user=user, supplier_id=refund.supplier_id, action="decide_refund")
        except NotFound:
            raise NotFound("No such refund.")
    return refund


def decide_refund(*, user, refund_id: int, approve: bool, note: str = "", amount_fen: int | None = None) -> Refund:
    """The supplier of the lines (or an operator) approves all or part of a request, or rejects it."""
    with transaction() as tx:
        refund = _refund_for_decider(user, refund_id)
        before = {"order_id": refund.order_id, "status": refund.status, "amount_fen": refund.amount_fen}
        decided = "approved" if approve else "rejected"
        values = dict(decided_by_id=user.id, decided_at=utcnow(), decision_note=note)
        if not _move(refund, decided, **values):
            raise Conflict(f"This refund is already {refund.status}.", code=error_codes.REFUND_ALREADY_DECIDED)
        if approve:
            amount = refund.amount_fen if amount_fen is None else amount_fen
            if amount > refund.amount_fen:
                raise ValidationFailed("More than was asked for.", code=error_codes.REFUND_EXCEEDS_REQUEST,
                                       errors={"amount_fen": [f"At most {refund.amount_fen}."]})
            # The lines asked for, scaled down to the amount approved.
            refund.lines, refund.parts = _reserve(refund.order_id, ledger.scale(shares_of(refund), amount))
            refund.amount_fen = amount
            tx.after_commit(lambda: execute_refund(refund_id=refund_id))
        events.refund_moved(refund.order_id, decided, refund_id=refund.id, amount_fen=refund.amount_fen,
                            actor_id=user.id, note=note)
        if not approve:
            notify.refund_decided(orders.load_order(refund.order_id), load_refund(refund.id))
        if user.is_platform_admin:  # a supplier's own decision is the supplier's business, not an operator's
            audit.record(tx, actor=user, action=audit_actions.REFUND_APPROVED_BY_OPERATOR if approve else
                         audit_actions.REFUND_REJECTED_BY_OPERATOR, target_type="refund", target_id=refund_id,
                         before=before, after={"order_id": refund.order_id, "status": decided,
                                               "amount_fen": refund.amount_fen, "decision_note": note},
                         keep=("order_id",))
    return load_refund(refund_id)


def _settle_part(part: RefundPart, status: str, **values) -> None:
    db.session.execute(update(RefundPart).where(RefundPart.id == part.id).values(status=status, **values))


def _release_part(refund: Refund, part: RefundPart, message: str) -> None:
    """The provider refused a part: release it on the payment, and its share of the refund on the order and its
    items (by largest remainder, so the refund's lines still add up to what it gives back)."""
    payments.release_draw(part.payment_id, part.amount_fen)
    before = shares_of(refund)
    refund.released_fen += part.amount_fen
    kept = ledger.scale(before, refund.refunded_fen)
    # A line given back whole gives back the units it returned (attribution counts them); one kept in part
    # still returns its units.
    ledger.release_refund(refund.order_id, [Share(b.fulfillment_id, b.order_line_id, b.amount_fen - k.amount_fen,
                                                  b.quantity if k.amount_fen == 0 else None)
                                            for b, k in zip(before, kept) if b.amount_fen != k.amount_fen])
    for line, share in zip(refund.lines, kept):
        line.amount_fen = share.amount_fen
    _settle_part(part, "failed", failure_message=message)
    events.refund_part_failed(refund.order_id, refund_id=refund.id, part_id=part.id, amount_fen=part.amount_fen,
                              message=message)


def _owe_by_transfer(refund: Refund, part: RefundPart, message: str) -> None:
    """The provider refused a part the order can no longer hold: it stays refunded, for an operator to send back
    by bank transfer (POST /refunds/{id}/transfers)."""
    _settle_part(part, "awaiting_transfer", failure_message=message)
    events.refund_part_failed(refund.order_id, refund_id=refund.id, part_id=part.id, amount_fen=part.amount_fen,
                              message=f"{message} Owed by bank transfer.")


def _send_card_part(refund_id: int, order_id: int, part_id: int, payment_id: int, amount_fen: int) -> tuple:
    """(status, provider ref, failure message) of one card part sent back through the provider."""
    try:
        result = payments.refund_card(payment_id=payment_id, amount_fen=amount_fen,
                                      idempotency_key=f"refund:{refund_id}:{part_id}",
                                      metadata={"order_id": str(order_id), "refund_id": str(refund_id)})
    except PaymentProviderError as error:
        return "failed", None, error.detail
    if result.status == "failed":
        return "failed", result.ref, "The provider refused the refund."
    return "succeeded", result.ref, ""


def execute_refund(*, refund_id: int) -> Refund:
    """Move the money of an approved refund. Claimed first, so that two workers never refund twice; no
    transaction is open while the provider is called."""
    with transaction():
        refund = load_refund(refund_id)
        claimed = refund is not None and _move(refund, "processing")
        work = [(p.id, p.provider, p.payment_id, p.amount_fen) for p in refund.parts] if claimed else []
        order_id = refund.order_id if refund else None
    if not claimed:
        return load_refund(refund_id)
    outcomes = {part_id: ("awaiting_transfer", None, "") if provider != "stripe" else
                _send_card_part(refund_id, order_id, part_id, payment_id, amount)
                for part_id, provider, payment_id, amount in work}
    with transaction():
        refund = load_refund(refund_id)
        for part in refund.parts:
            status, ref, message = outcomes[part.id]
            if status == "failed" and refund.kind in OWED_BY_TRANSFER_IF_REFUSED:
                _owe_by_transfer(refund, part, message)
            elif status == "failed":
                _release_part(refund, part, message)
            else:
                _settle_part(part, status, provider_ref=ref, completed_at=utcnow() if status == "succeeded" else None)
        _finish(refund, failure="; ".join(m for s, _, m in outcomes.values() if s == "failed"))
    return load_refund(refund_id)


def _finish(refund: Refund, *, failure: str = "") -> None:
    """Processing is over (or a transfer part was recorded): the refund's status follows its parts."""
    db.session.flush()
    statuses = {p.status for p in db.session.scalars(select(RefundPart).where(RefundPart.refund_id == refund.id)
                                                     .execution_options(populate_existing=True))}
    if "pending" in statuses:
        return
    if statuses == {"failed"}:
        to = "failed"
    else:
        to = "awaiting_transfer" if "awaiting_transfer" in statuses else "succeeded"
    values = {"failure_message": failure} if failure else {}
    if to != "awaiting_transfer":
        values["completed_at"] = utcnow()
    if _move(refund, to, **values):
        events.refund_moved(refund.order_id, to, refund_id=refund.id, amount_fen=refund.refunded_fen)
        notify.refund_decided(orders.load_order(refund.order_id), load_refund(refund.id))


def record_refund_transfer(*, user, refund_id: int, part_id: int, reference: str, value_date: dt.date) -> Refund:
    """An operator sent a bank-transfer part of a refund back to the payer, and records the bank's reference."""
    if not user.is_platform_admin:
        raise NotFound("No such refund.")
    with transaction() as tx:
        refund = load_refund(refund_id)
        part = next((p for p in refund.parts if p.id == part_id), None) if refund else None
        if part is None:
            raise NotFound("No such refund part.")
        if part.status != "awaiting_transfer":
            raise IllegalTransition(f"This part is {part.status}.", code=error_codes.REFUND_PART_NOT_AWAITING_TRANSFER)
        if db.session.execute(update(RefundPart).where(RefundPart.id == part.id,
                                                       RefundPart.status == "awaiting_transfer")
                              .values(status="succeeded", provider_ref=reference, value_date=value_date,
                                      recorded_by_id=user.id, completed_at=utcnow())).rowcount != 1:
            raise IllegalTransition("The part changed meanwhile; reload it.", code=error_codes.REFUND_STATE_CHANGED)
        events.refund_transfer_recorded(refund.order_id, actor_id=user.id, refund_id=refund.id, part_id=part.id,
                                        reference=reference)
        audit.record(tx, actor=user, action=audit_actions.REFUND_TRANSFER_RECORDED, target_type="refund",
                     target_id=refund.id, keep=("order_id", "part_id", "amount_fen"),
                     before={"order_id": refund.order_id, "part_id": part.id, "amount_fen": part.amount_fen,
                             "status": "awaiting_transfer"},
                     after={"order_id": refund.order_id, "part_id": part.id, "amount_fen": part.amount_fen,
                            "status": "succeeded", "reference": reference, "value_date": value_date})
        _finish(refund)
    return load_refund(refund_id)


def list_order_refunds(*, user, order_id: int) -> list[Refund]:
    orders.get_order(user=user, order_id=order_id)
    return list(db.session.scalars(refund_query().where(Refund.order_id == order_id).order_by(Refund.id)))


def list_supplier_refunds(*, user, status: str | None = None, limit: int, cursor: str | None = None):
    stmt = refund_query().where(Refund.supplier_id.in_(member_supplier_ids(user=user)))
    if status:
        stmt = stmt.where(Refund.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Refund.id, lambda r: r.id, descending=True)], limit=limit,
                       cursor=cursor)
