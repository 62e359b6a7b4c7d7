"""Payment plans: what an order must be paid, in which parts, by which providers, and where each part takes
the order. The order's `payment_plan` names one; nothing else in the code infers a plan from payment kinds.

- card: retail. One card payment of the whole total; paid → the order is paid.
- deposit_balance: pre-sale (以销定产). A card deposit now (→ deposit_paid), the balance after the harvest
  (→ paid).
- bank_transfer: institutions (对公转账). An operator records the transfers as they arrive, in as many parts
  as the payer sends; when they add up to the total the order is paid.
- on_terms: institutions with payment terms (net 15/30/60). The order is fulfilled first, against an invoice
  (shop.procurement.invoices); transfers recorded against it are counted but do not move the order.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from shop.money import MAX_ORDER_FEN


@dataclass(frozen=True)
class Part:
    kind: str                  # the Payment.kind that collects it
    providers: tuple[str, ...]  # who may collect it
    reaches: str | None        # the order's status once everything up to and including this part is paid
                               # (None: paying does not move the order)


PLANS: dict[str, tuple[Part, ...]] = {
    "card": (Part("full", ("stripe",), "paid"),),
    "deposit_balance": (Part("deposit", ("stripe",), "deposit_paid"), Part("balance", ("stripe",), "paid")),
    "bank_transfer": (Part("full", ("bank_transfer",), "paid"),),
    "on_terms": (Part("full", ("bank_transfer",), None),),
}
PAYABLE_STATUSES = ("pending_payment", "deposit_paid")  # the statuses a plan moves an order out of
# An invoice on terms is paid while the order is under way or after delivery; not before approval, nor once
# it is cancelled or rejected.
TERMS_PAYABLE_STATUSES = ("approved", "fulfilling", "shipped", "delivered", "completed")


def is_payable(order) -> bool:
    """The order's status lets it take money under its plan."""
    statuses = TERMS_PAYABLE_STATUSES if order.payment_plan == "on_terms" else PAYABLE_STATUSES
    return order.status in statuses


@dataclass(frozen=True)
class DuePart:
    part: Part
    amount_fen: int      # the whole part
    due_fen: int         # what is still unpaid of it
    end_fen: int         # the cumulative amount at which this part is complete


def parts(plan: str, *, total_fen: int, deposit_fen: int) -> list[tuple[Part, int]]:
    if plan == "deposit_balance":
        return list(zip(PLANS[plan], (deposit_fen, total_fen - deposit_fen)))
    return [(PLANS[plan][0], total_fen)]


def due_part(order) -> DuePart | None:
    """The part now being paid, or None when the order is paid in full or is not payable. Counted net of
    refunds: a pledge cut to its allocation (its unallocated deposit refunded) owes the smaller balance."""
    if not is_payable(order):
        return None
    end = 0
    for part, amount in parts(order.payment_plan, total_fen=order.total_fen, deposit_fen=order.deposit_fen):
        end += amount
        if order.net_paid_fen < end:
            return DuePart(part=part, amount_fen=amount, due_fen=end - order.net_paid_fen, end_fen=end)
    return None


def status_after(order, paid_fen: int) -> str | None:
    """The status the plan gives an order once it holds `paid_fen` net of refunds (None: no part is complete)."""
    reached, end = None, 0
    for part, amount in parts(order.payment_plan, total_fen=order.total_fen, deposit_fen=order.deposit_fen):
        end += amount
        if paid_fen >= end:
            reached = part.reaches
    return reached


def check(plan: str, *, total_fen: int, deposit_fen: int) -> str | None:
    """Why this plan cannot take this order (an error code), or None. Card charges are capped by the provider
    (MAX_ORDER_FEN per charge); orders paid by transfer have their own configurable cap."""
    if plan in ("bank_transfer", "on_terms"):
        return "order_too_large" if total_fen > current_app.config["MAX_TRANSFER_ORDER_FEN"] or deposit_fen else None
    charges = [amount for _, amount in parts(plan, total_fen=total_fen, deposit_fen=deposit_fen)]
    if plan == "deposit_balance" and not 0 < deposit_fen < total_fen:
        return "invalid_deposit"
    if plan == "card" and deposit_fen:
        return "invalid_deposit"
    return "order_too_large" if max(charges) > MAX_ORDER_FEN else None
