from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.accounts.models import User
from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db
from shop.procurement.roles import MEMBER_ROLES
from shop.regions.models import Region

ORGANIZATION_KINDS = ("hospital", "school", "government", "union", "enterprise_canteen", "chamber_of_commerce",
                      "service_center", "other")
ORGANIZATION_STATUSES = ("pending", "approved", "rejected", "suspended")
# Reviewed like suppliers, in one platform step: pending → approved | rejected, approved ↔ suspended; a rejected
# applicant edits its application and is pending again. Verb → (from, to); the same words as suppliers use.
REVIEW_STEPS = {
    "approve": ({"pending"}, "approved"),
    "reject": ({"pending"}, "rejected"),
    "suspend": ({"approved"}, "suspended"),
    "reinstate": ({"suspended"}, "approved"),
}
REASON_REQUIRED = {"reject", "suspend"}
# Set by the platform per organisation: prepaid = card only; net_N = invoice due N days after approval.
TERMS = ("prepaid", "net_15", "net_30", "net_60")
TERMS_DAYS = {"net_15": 15, "net_30": 30, "net_60": 60}


class Organization(db.Model):
    """A buying institution (采购单位): hospital, school, canteen, union..."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(string_enum(*ORGANIZATION_KINDS, name="organization_kind"))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码, checksum-validated
    # Where its purchases are attributed (消费帮扶): a province or a city of one.
    home_region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    address: Mapped[str] = mapped_column(String(255))
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(20))
    has_canteen: Mapped[bool] = mapped_column(default=False)
    # Fapiao details (开票信息): title and, for 专用发票, taxpayer id, address and phone, bank and account.
    fapiao_title: Mapped[str] = mapped_column(String(120))
    taxpayer_id: Mapped[str | None] = mapped_column(String(20))
    fapiao_address_phone: Mapped[str] = mapped_column(String(255), default="")
    fapiao_bank_account: Mapped[str] = mapped_column(String(255), default="")
    payment_terms: Mapped[str] = mapped_column(string_enum(*TERMS, name="organization_terms"), default="prepaid")
    status: Mapped[str] = mapped_column(string_enum(*ORGANIZATION_STATUSES, name="organization_status"),
                                        default="pending", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    home_region: Mapped[Region] = relationship(lazy="raise")


class OrganizationMember(db.Model):
    __tablename__ = "organization_member"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),
                      CheckConstraint("spending_limit_fen >= 0", name="limit_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(string_enum(*MEMBER_ROLES, name="organization_member_role"))
    # The largest order this member places without an approver (0: every order waits for approval).
    spending_limit_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")


class OrganizationStatusEvent(db.Model):
    """Who moved an organisation between review states, when, and why."""

    __tablename__ = "organization_status_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invoice(db.Model):
    """The bill of an order on terms, issued when the order is approved. What is paid is the order's paid_fen
    (bank transfers recorded against the order); the invoice holds the number and the due date."""

    __tablename__ = "invoice"
    __table_args__ = (Index("ix_invoice_organization_due", "organization_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    terms: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order = relationship("Order", lazy="raise")

    @property
    def paid_fen(self) -> int:
        return self.order.paid_fen

    @property
    def due_fen(self) -> int:
        return self.order.due_fen

    @property
    def status(self) -> str:
        """void: the order was cancelled before it was paid; paid: transfers cover it; else open."""
        if self.order.status in ("cancelled", "rejected"):
            return "paid" if self.order.paid_fen >= self.amount_fen else "void"
        return "paid" if self.order.paid_fen >= self.order.total_fen else "open"

class ProvinceQuotaMinimum(db.Model):
    """A province's minimum reserved share where it is above the national 10% (set by the platform)."""

    __tablename__ = "province_quota_minimum"
    __table_args__ = (CheckConstraint("share_bp >= 0 AND share_bp <= 10000", name="share_in_range"),)

    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)
    share_bp: Mapped[int] = mapped_column(Integer)  # basis points: 2000 = 20%
    source: Mapped[str] = mapped_column(Text, default="")  # the provincial document that sets it
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AnnualQuota(db.Model):
    """The reserved share an organisation files for a year (预留份额): target = canteen food spending × share."""

    __tablename__ = "annual_quota"
    __table_args__ = (UniqueConstraint("organization_id", "year"),
                      CheckConstraint("share_bp >= 0 AND share_bp <= 10000", name="share_in_range"),
                      CheckConstraint("canteen_food_spend_fen >= 0 AND target_fen >= 0", name="amounts_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    canteen_food_spend_fen: Mapped[int] = mapped_column(BigInteger)
    share_bp: Mapped[int] = mapped_column(Integer)
    target_fen: Mapped[int] = mapped_column(BigInteger)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


STANDING_FREQUENCIES = ("weekly", "monthly")
STANDING_STATUSES = ("active", "paused", "ended")
RUN_OUTCOMES = ("placed", "skipped")


class StandingOrder(db.Model):
    """A canteen's recurring supply: the same lines every week or month until the end date, placed by a job as a
    requisition of the member who set it up (on the organisation's terms, through the usual approval)."""

    __tablename__ = "standing_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    lines: Mapped[list] = mapped_column(JSON)  # [{"sku_id", "quantity"}]
    delivery_address: Mapped[dict] = mapped_column(JSON)
    frequency: Mapped[str] = mapped_column(string_enum(*STANDING_FREQUENCIES, name="standing_frequency"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    po_number: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(string_enum(*STANDING_STATUSES, name="standing_status"), default="active",
                                        index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StandingOrderRun(db.Model):
    """One period of a standing order, placed or skipped once: the unique key makes a second job run a no-op."""

    __tablename__ = "standing_order_run"
    __table_args__ = (UniqueConstraint("standing_order_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standing_order_id: Mapped[int] = mapped_column(ForeignKey("standing_order.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(string_enum(*RUN_OUTCOMES, name="standing_run_outcome"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
