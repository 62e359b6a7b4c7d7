from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

CAMPAIGN_STATUSES = ("draft", "open", "closed", "succeeded", "failed", "allocated", "fulfilling", "completed",
                     "cancelled", "suspended")
# States in which a campaign is under way (and a platform admin may suspend it).
LIVE_STATUSES = ("open", "closed", "succeeded", "allocated", "fulfilling")
# The campaign state machine. `suspended` goes back only to the state it was suspended from
# (Campaign.suspended_from); the supplier cancels before allocation.
CAMPAIGN_TRANSITIONS = {
    "draft": {"open", "cancelled"},
    "open": {"closed", "cancelled", "suspended"},
    "closed": {"succeeded", "failed", "cancelled", "suspended"},
    "succeeded": {"allocated", "cancelled", "suspended"},
    "allocated": {"fulfilling", "suspended"},
    "fulfilling": {"completed", "suspended"},
    "suspended": set(LIVE_STATUSES),
    "failed": set(),
    "completed": set(),
    "cancelled": set(),
}
# What anyone may see: neither drafts (the supplier's members only) nor suspended campaigns (members, admins).
PUBLIC_STATUSES = ("open", "closed", "succeeded", "failed", "allocated", "fulfilling", "completed", "cancelled")
ALLOCATION_POLICIES = ("pro_rata", "first_come", "institutions_first")
# What the buyer is owed when the supplier defaults without cause. A 定金 (deposit > 0) is returned double
# (Civil Code art. 587); a full prepayment is not a 定金 and is refunded in full, nothing more.
DEFAULT_PROMISES = ("double_deposit", "refund_in_full")
MAX_DEPOSIT_SHARE = (1, 5)  # 定金 at most 20% of the price (Civil Code art. 586)
# released: withdrawn, expired unpaid, cancelled (with its refund) or allotted nothing; forfeited: its balance
# was not paid by the deadline, so its 定金 stays with the supplier.
PLEDGE_STATUSES = ("active", "released", "forfeited")
PLEDGE_KINDS = ("pledge", "top_up")  # top_up: units of forfeited pledges offered to a pledge that got less
# Cooperatives commit supply while the campaign is being prepared or takes pledges; deliveries are recorded
# once it has succeeded.
SUPPLY_OPEN_STATUSES = ("draft", "open")
DELIVERY_STATUSES = ("succeeded", "allocated", "fulfilling", "completed")


class Campaign(db.Model):
    """A pre-sale of one SKU of the lead supplier: an order window, a shipping window in the product's sale
    months, a price and deposit per unit, a minimum to proceed and a capacity, counted in pledged_quantity."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("pledged_quantity >= 0 AND pledged_quantity <= capacity", name="pledged_within_capacity"),
        CheckConstraint("deposit_per_unit_fen >= 0 AND deposit_per_unit_fen * 5 <= unit_price_fen",
                        name="deposit_at_most_a_fifth"),
        CheckConstraint("unit_price_fen > 0", name="price_positive"),
        CheckConstraint("minimum_quantity >= 1 AND minimum_quantity <= capacity", name="minimum_within_capacity"),
        CheckConstraint("per_buyer_limit IS NULL OR per_buyer_limit >= 1", name="per_buyer_limit_positive"),
        CheckConstraint("closes_at > opens_at", name="window_ordered"),
        CheckConstraint("ships_until >= ships_from", name="shipping_window_ordered"),
        Index("ix_campaign_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)  # the lead supplier
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    story: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ships_from: Mapped[dt.date] = mapped_column(Date)
    ships_until: Mapped[dt.date] = mapped_column(Date)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    deposit_per_unit_fen: Mapped[int] = mapped_column(Integer, default=0)  # 0: full prepayment, no 定金 rules
    minimum_quantity: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer)  # None: up to the capacity
    allocation_policy: Mapped[str] = mapped_column(string_enum(*ALLOCATION_POLICIES, name="allocation_policy"))
    default_promise: Mapped[str] = mapped_column(string_enum(*DEFAULT_PROMISES, name="campaign_default_promise"))
    # Units held by active pledges: moved only by conditional UPDATEs (shop.presale.pledges), never Sku.stock.
    pledged_quantity: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(string_enum(*CAMPAIGN_STATUSES, name="campaign_status"), default="draft")
    suspended_from: Mapped[str | None] = mapped_column(String(32))  # the state a reinstatement returns to
    status_reason: Mapped[str] = mapped_column(Text, default="")
    harvested_quantity: Mapped[int | None] = mapped_column(Integer)  # entered by the supplier at allocation
    allocated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    balance_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # unpaid balances forfeit after it
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def can_move_to(self, status: str) -> bool:
        if self.status == "suspended":
            return status == self.suspended_from
        return status in CAMPAIGN_TRANSITIONS[self.status]

    def takes_pledges(self, now: dt.datetime) -> bool:
        """Open, and now within the order window (the closing job may not have run yet)."""
        return self.status == "open" and self.opens_at <= now < self.closes_at

    @property
    def remaining_quantity(self) -> int:
        return self.capacity - self.pledged_quantity


class CampaignEvent(db.Model):
    """The campaign's history: every state move and edit, who did it, when, and why."""

    __tablename__ = "campaign_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Pledge(db.Model):
    """A buyer's demand on a campaign: the presale order that carries its deposit (or full price) and, later,
    its balance. Active pledges hold campaign capacity; a withdrawn, expired or cancelled one is released."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("allocated_quantity IS NULL OR (allocated_quantity >= 0 AND allocated_quantity <= quantity)",
                        name="allocated_within_pledged"),
        Index("ix_pledge_campaign_buyer_status", "campaign_id", "buyer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), unique=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(string_enum(*PLEDGE_STATUSES, name="pledge_status"), default="active")
    kind: Mapped[str] = mapped_column(string_enum(*PLEDGE_KINDS, name="pledge_kind"), default="pledge",
                                      server_default="pledge")
    parent_pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"))  # the pledge a top_up completes
    # What the allocation gave it (None until the campaign is allocated) and why, for the buyer's screen.
    allocated_quantity: Mapped[int | None] = mapped_column(Integer)
    allocation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    allocation_refund_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SupplyCommitment(db.Model):
    """What one cooperative of the lead supplier's district promises to grow for a campaign, per grade, and what
    it delivered. One row per (campaign, supplier, grade): committing again replaces the quantity."""

    __tablename__ = "supply_commitment"
    __table_args__ = (
        # grade is '' (never NULL) when not graded, so the unique key holds on SQLite and PostgreSQL alike.
        UniqueConstraint("campaign_id", "supplier_id", "grade"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("delivered_quantity >= 0", name="delivered_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    grade: Mapped[str] = mapped_column(String(20), default="", server_default="")
    quantity: Mapped[int] = mapped_column(Integer)  # units of the campaign's SKU
    # May exceed quantity: a cooperative that delivered more did so, and the record says it.
    delivered_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note: Mapped[str] = mapped_column(String(255), default="")
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


COMPENSATION_STATUSES = ("owed", "paid")
# An operator pays the buyer (by bank transfer) and records it; the amount is the lead supplier's to bear, taken
# from its settlement. Nothing moves a paid compensation.
COMPENSATION_TRANSITIONS = {"owed": {"paid"}, "paid": set()}


class Compensation(db.Model):
    """What a supplier that cancelled its campaign owes a buyer beyond the refund, as the campaign promised: for
    a 定金 (double_deposit), the deposit once more (Civil Code art. 587). One per pledge."""

    __tablename__ = "campaign_compensation"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id", ondelete="CASCADE"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)  # who bears it
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(string_enum(*COMPENSATION_STATUSES, name="compensation_status"),
                                        default="owed")
    reference: Mapped[str | None] = mapped_column(String(64))  # the bank's reference of the payout
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
