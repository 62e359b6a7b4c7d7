from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

CHANNELS = ("retail", "procurement", "presale", "store")
ORDER_STATUSES = ("awaiting_approval", "approved", "rejected", "pending_payment", "deposit_paid", "paid", "fulfilling",
                  "shipped", "delivered", "completed", "cancelled")
# The order state machine. Retail enters at pending_payment. `fulfilling` = some suppliers shipped. An order whose
# payment plan takes a deposit first waits in deposit_paid for its balance (shop.orders.plans).
# Procurement (shop.procurement.requisitions) enters at awaiting_approval when it is above the buyer's spending
# limit, else at approved. `approved` holds the stock: a card order moves on to pending_payment at once; an order
# on terms stays approved with its invoice due, and its suppliers ship it (approved → fulfilling | shipped).
ORDER_TRANSITIONS = {
    "awaiting_approval": {"approved", "rejected", "cancelled"},
    "approved": {"pending_payment", "fulfilling", "shipped", "cancelled"},
    "pending_payment": {"paid", "deposit_paid", "cancelled"},
    "deposit_paid": {"paid", "cancelled"},
    "paid": {"fulfilling", "shipped", "cancelled"},
    "fulfilling": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": {"completed"},
    "completed": set(),
    "cancelled": set(),
    "rejected": set(),
}
PAYMENT_TERMS = ("prepaid", "net_15", "net_30", "net_60")
PAYMENT_PLANS = ("card", "deposit_balance", "bank_transfer", "on_terms")  # what each needs: shop.orders.plans.PLANS
# Stock is reserved when an order is placed, or for a requisition when it is approved; these hold none.
HOLDS_NO_STOCK = ("awaiting_approval", "rejected", "cancelled")
FULFILLMENT_STATUSES = ("pending", "shipped", "delivered", "cancelled")
FULFILLMENT_TRANSITIONS = {"pending": {"shipped", "cancelled"}, "shipped": {"delivered"}, "delivered": set(),
                           "cancelled": set()}


class Order(db.Model):
    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        CheckConstraint("total_fen = subtotal_fen + shipping_fen - discount_fen", name="total_adds_up"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_within_paid"),
        # Net of refunds: a pre-sale order shrinks to its allocation after the unallocated deposit went back.
        CheckConstraint("paid_fen >= 0 AND paid_fen - refunded_fen <= total_fen", name="paid_within_total"),
        CheckConstraint("deposit_fen >= 0 AND deposit_fen <= total_fen", name="deposit_within_total"),
        Index("ix_order_buyer_id_id", "buyer_id", "id"),
        Index("ix_order_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)  # procurement
    channel: Mapped[str] = mapped_column(string_enum(*CHANNELS, name="order_channel"), default="retail")
    status: Mapped[str] = mapped_column(string_enum(*ORDER_STATUSES, name="order_status"), index=True)
    payment_terms: Mapped[str] = mapped_column(string_enum(*PAYMENT_TERMS, name="payment_terms"), default="prepaid")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    subtotal_fen: Mapped[int] = mapped_column(BigInteger)
    shipping_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_plan: Mapped[str] = mapped_column(string_enum(*PAYMENT_PLANS, name="payment_plan"), default="card")
    deposit_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # the first part, for deposit_balance
    # Snapshot of the shipping address as it was at checkout (the address book may change later).
    shipping_address: Mapped[dict] = mapped_column(JSON)
    buyer_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))  # 消费帮扶 attribution
    fapiao: Mapped[dict | None] = mapped_column(JSON)
    po_number: Mapped[str | None] = mapped_column(String(64))
    requested_delivery_on: Mapped[dt.date | None] = mapped_column(Date)  # procurement: when the canteen needs it
    # What the buyer confirmed at purchase about 七日无理由退货 exclusion: catalog.return_policies records.
    return_confirmations: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(255), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    flagged: Mapped[bool] = mapped_column(default=False)  # needs an operator (amount mismatch, late payment...)
    flag_reason: Mapped[str] = mapped_column(Text, default="")
    # Why its fulfilments may not ship yet, when they may not (a pledge waits for its campaign's allocation).
    shipping_hold: Mapped[str | None] = mapped_column(String(120))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # unpaid reservation ends
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", lazy="raise", order_by="OrderLine.id")
    fulfillments: Mapped[list["Fulfillment"]] = relationship(back_populates="order", lazy="raise",
                                                             order_by="Fulfillment.id")

    def can_move_to(self, status: str) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    def holds_stock(self) -> bool:
        """Its lines' stock is reserved (read before a move that would release it)."""
        return self.status not in HOLDS_NO_STOCK

    def can_cancel(self) -> bool:
        """Before shipment only: nothing a supplier has handed to a carrier can be cancelled."""
        return self.can_move_to("cancelled") and all(f.status in ("pending", "cancelled")
                                                     for f in self.fulfillments)

    @property
    def net_paid_fen(self) -> int:
        """What the order holds of its buyer's money: paid minus refunded. Payment plans count this."""
        return self.paid_fen - self.refunded_fen

    @property
    def refundable_fen(self) -> int:
        return self.net_paid_fen

    @property
    def due_fen(self) -> int:
        """What is still to be paid: nothing once cancelled, nor once paid in full (a later refund is money given
        back, not money owed); before that, the total less what the order holds (a pledge cut to its
        allotment, its unallotted deposit refunded, owes the smaller balance)."""
        if self.status in ("cancelled", "rejected") or self.paid_at is not None:
            return 0
        return self.total_fen - self.net_paid_fen

    @property
    def refund_status(self) -> str:
        if self.refunded_fen == 0:
            return "none"
        return "full" if self.refunded_fen >= self.paid_fen else "partial"


class Fulfillment(db.Model):
    """One supplier's part of an order: its lines, its shipping fee, its parcel."""

    __tablename__ = "fulfillment"
    __table_args__ = (
        UniqueConstraint("order_id", "supplier_id"),
        Index("ix_fulfillment_supplier_id_id", "supplier_id", "id"),
        CheckConstraint("shipping_paid_fen >= 0 AND shipping_paid_fen - shipping_refunded_fen <= shipping_fen",
                        name="shipping_paid_within"),
        CheckConstraint("shipping_refunded_fen >= 0 AND shipping_refunded_fen <= shipping_paid_fen",
                        name="shipping_refund_within_paid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    status: Mapped[str] = mapped_column(string_enum(*FULFILLMENT_STATUSES, name="fulfillment_status"),
                                        default="pending")
    subtotal_fen: Mapped[int] = mapped_column(BigInteger)
    shipping_fen: Mapped[int] = mapped_column(BigInteger)
    # The shipping fee's share of what the order was paid and refunded (shop.orders.ledger keeps them exact).
    shipping_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="fulfillments", lazy="raise")
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="fulfillment", lazy="raise",
                                                    order_by="OrderLine.id")

    def can_move_to(self, status: str) -> bool:
        return status in FULFILLMENT_TRANSITIONS[self.status]


class OrderLine(db.Model):
    """A SKU as it was sold: name, spec, price, supplier and origin district are snapshots."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("line_total_fen = unit_price_fen * quantity", name="line_total_adds_up"),
        CheckConstraint("paid_fen >= 0 AND paid_fen - refunded_fen <= line_total_fen", name="paid_within_line"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_within_line"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    fulfillment_id: Mapped[int] = mapped_column(ForeignKey("fulfillment.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    origin_district_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    product_name: Mapped[str] = mapped_column(String(120))
    sku_spec: Mapped[str] = mapped_column(String(80))
    unit: Mapped[str] = mapped_column(String(16))
    weight_g: Mapped[int] = mapped_column(Integer)
    cold_chain: Mapped[bool] = mapped_column(default=False)
    product_type: Mapped[str] = mapped_column(String(32))
    return_policy: Mapped[str] = mapped_column(String(32))
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    # The SKU's list price when it sold: above unit_price_fen when a volume tier applied (procurement).
    list_unit_price_fen: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))  # as listed when it sold
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_fen: Mapped[int] = mapped_column(BigInteger)
    # The line's share of the order's payments and refunds, to the fen: net per line = paid - refunded.
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
    fulfillment: Mapped[Fulfillment] = relationship(back_populates="lines", lazy="raise")


class OrderEvent(db.Model):
    """The order's history: every state change, who did it, when, and what."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
