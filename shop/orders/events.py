"""The order history's vocabulary: every event type an order can record, and one function per money event.
State moves record the status they reach (`paid`, `cancelled`...) or the name the mover gives (`expired`)."""
from __future__ import annotations

from shop.orders.state import record

PLACED = "placed"
EXPIRED = "expired"
AUTO_COMPLETED = "auto_completed"
FULFILLMENT_SHIPPED = "fulfillment_shipped"
FULFILLMENT_DELIVERED = "fulfillment_delivered"
PAYMENT_INTENT_CREATED = "payment_intent_created"
PAYMENT_RECEIVED = "payment_received"
PAYMENT_FAILED = "payment_failed"
PAYMENT_CANCELLED = "payment_cancelled"
PAYMENT_AMOUNT_MISMATCH = "payment_amount_mismatch"
UNEXPECTED_PAYMENT = "unexpected_payment"
LATE_PAYMENT = "late_payment"
BANK_TRANSFER_RECORDED = "bank_transfer_recorded"
INVOICE_SETTLED = "invoice_settled"
INVOICE_ISSUED = "invoice_issued"  # a pre-sale pledge on terms, once its harvest is allocated
# Procurement: the approval step of a requisition (its moves record approved / rejected with the comment).
APPROVAL_REQUESTED = "approval_requested"
STOCK_RESERVED = "stock_reserved"
# Pre-sale: a line cut to the units a short harvest allotted it; a 定金 kept because the balance was not paid.
QUANTITY_REDUCED = "quantity_reduced"
DEPOSIT_FORFEITED = "deposit_forfeited"
REFUND_REQUESTED = "refund_requested"
REFUND_APPROVED = "refund_approved"
REFUND_REJECTED = "refund_rejected"
REFUND_SUCCEEDED = "refund_succeeded"
REFUND_AWAITING_TRANSFER = "refund_awaiting_transfer"
REFUND_PART_FAILED = "refund_part_failed"
REFUND_FAILED = "refund_failed"
REFUND_TRANSFER_RECORDED = "refund_transfer_recorded"
# A refund's own status names its event: refund_<status>.
REFUND_STATUS_EVENTS = {"approved": REFUND_APPROVED, "rejected": REFUND_REJECTED, "succeeded": REFUND_SUCCEEDED,
                        "awaiting_transfer": REFUND_AWAITING_TRANSFER, "failed": REFUND_FAILED}


def payment_received(order_id: int, *, payment_id: int, amount_fen: int, source: str) -> None:
    record(order_id, PAYMENT_RECEIVED, payment_id=payment_id, amount_fen=amount_fen, source=source)


def invoice_settled(order_id: int, *, payment_id: int, amount_fen: int) -> None:
    record(order_id, INVOICE_SETTLED, payment_id=payment_id, amount_fen=amount_fen)


def invoice_issued(order_id: int, *, actor_id: int | None, invoice_number: str, due_on: str, amount_fen: int
                   ) -> None:
    record(order_id, INVOICE_ISSUED, actor_id=actor_id, invoice_number=invoice_number, due_on=due_on,
           amount_fen=amount_fen)


def payment_intent_created(order_id: int, *, payment_id: int, provider: str, ref: str) -> None:
    record(order_id, PAYMENT_INTENT_CREATED, payment_id=payment_id, provider=provider, ref=ref)


def payment_failed(order_id: int, *, payment_id: int, source: str, ref: str, code: str | None) -> None:
    record(order_id, PAYMENT_FAILED, payment_id=payment_id, source=source, ref=ref, code=code)


def payment_cancelled(order_id: int, *, payment_id: int, source: str, ref: str) -> None:
    record(order_id, PAYMENT_CANCELLED, payment_id=payment_id, source=source, ref=ref)


def payment_amount_mismatch(order_id: int, *, payment_id: int, source: str, ref: str, amount_fen: int,
                            currency: str) -> None:
    record(order_id, PAYMENT_AMOUNT_MISMATCH, payment_id=payment_id, source=source, ref=ref, amount_fen=amount_fen,
           currency=currency)


def unexpected_payment(order_id: int, *, payment_id: int, source: str, amount_fen: int, reason: str) -> None:
    record(order_id, UNEXPECTED_PAYMENT, payment_id=payment_id, source=source, amount_fen=amount_fen, reason=reason)


def late_payment(order_id: int, *, payment_id: int, source: str, amount_fen: int) -> None:
    record(order_id, LATE_PAYMENT, payment_id=payment_id, source=source, amount_fen=amount_fen)


def bank_transfer_recorded(order_id: int, *, actor_id: int, payment_id: int, amount_fen: int, reference: str) -> None:
    record(order_id, BANK_TRANSFER_RECORDED, actor_id=actor_id, payment_id=payment_id, amount_fen=amount_fen,
           reference=reference)


def refund_requested(order_id: int, *, actor_id: int, refund_id: int, amount_fen: int, kind: str) -> None:
    record(order_id, REFUND_REQUESTED, actor_id=actor_id, refund_id=refund_id, amount_fen=amount_fen, kind=kind)


def refund_moved(order_id: int, status: str, *, refund_id: int, amount_fen: int, actor_id: int | None = None,
                 **data) -> None:
    record(order_id, REFUND_STATUS_EVENTS[status], actor_id=actor_id, refund_id=refund_id, amount_fen=amount_fen,
           **data)


def refund_part_failed(order_id: int, *, refund_id: int, part_id: int, amount_fen: int, message: str) -> None:
    record(order_id, REFUND_PART_FAILED, refund_id=refund_id, part_id=part_id, amount_fen=amount_fen, message=message)


def refund_transfer_recorded(order_id: int, *, actor_id: int, refund_id: int, part_id: int, reference: str) -> None:
    record(order_id, REFUND_TRANSFER_RECORDED, actor_id=actor_id, refund_id=refund_id, part_id=part_id,
           reference=reference)


def quantity_reduced(order_id: int, *, order_line_id: int, from_quantity: int, to_quantity: int, reason: str,
                     actor_id: int | None) -> None:
    record(order_id, QUANTITY_REDUCED, actor_id=actor_id, order_line_id=order_line_id, from_quantity=from_quantity,
           to_quantity=to_quantity, reason=reason)


def deposit_forfeited(order_id: int, *, amount_fen: int) -> None:
    record(order_id, DEPOSIT_FORFEITED, amount_fen=amount_fen)
