from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.accounts.models import User
from shop.extensions import db
from shop.regions.models import Region
from shop.suppliers.roles import MEMBER_ROLES

SUPPLIER_KINDS = ("cooperative", "leading_enterprise", "family_farm", "processor", "trading_agent")
SUPPLIER_STATUSES = ("pending", "recommended", "approved", "rejected", "suspended")

# Vetting in three steps (the supplier applies, its county recommends, the platform approves):
# pending → recommended | rejected, recommended → approved | rejected, approved ↔ suspended.
# A rejected applicant may re-apply (editing its application sends it back to pending).
SUPPLIER_TRANSITIONS = {
    "pending": {"recommended", "rejected"},
    "recommended": {"approved", "rejected"},
    "approved": {"suspended"},
    "suspended": {"approved"},
    "rejected": {"pending"},
}

# Who takes which step: (reviewer kind, verb) → (statuses it starts from, status it leads to). The verb, not
# only the target, decides: "approve" does not lift a suspension, "reinstate" does not approve an application,
# and only the county of the supplier's district recommends. The platform may still turn down an application
# at either stage; it approves only recommended ones.
REVIEW_STEPS = {
    ("county", "recommend"): ({"pending"}, "recommended"),
    ("county", "reject"): ({"pending"}, "rejected"),
    ("platform", "approve"): ({"recommended"}, "approved"),
    ("platform", "reject"): ({"pending", "recommended"}, "rejected"),
    ("platform", "suspend"): ({"approved"}, "suspended"),
    ("platform", "reinstate"): ({"suspended"}, "approved"),
}
REASON_REQUIRED = {"reject", "suspend"}  # the applicant is told why


class Supplier(db.Model):
    __tablename__ = "supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(string_enum(*SUPPLIER_KINDS, name="supplier_kind"))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码, checksum-validated
    district_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)  # registered district
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(255), default="")
    sc_license_number: Mapped[str | None] = mapped_column(String(16))  # 食品生产许可证 "SC" + 14 digits
    food_filing_number: Mapped[str | None] = mapped_column(String(64))  # 食品经营备案
    farmer_linkage: Mapped[str] = mapped_column(Text, default="")  # 联农带农: how it brings farmers along
    represented_producers: Mapped[list] = mapped_column(JSON, default=list)  # trading agents: [{name, credit_code}]
    is_demo: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(string_enum(*SUPPLIER_STATUSES, name="supplier_status"), default="pending",
                                        index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    district: Mapped[Region] = relationship(lazy="raise")

    def is_approved(self) -> bool:
        return self.status == "approved"

    def can_move_to(self, status: str) -> bool:
        return status in SUPPLIER_TRANSITIONS.get(self.status, set())


class SupplierMember(db.Model):
    __tablename__ = "supplier_member"
    __table_args__ = (UniqueConstraint("supplier_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(string_enum(*MEMBER_ROLES, name="supplier_member_role"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")  # the member list shows who each member is


class CountyReviewer(db.Model):
    """A user the platform appointed to recommend (or turn down) the applicants of one district."""

    __tablename__ = "county_reviewer"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)  # one district
    district_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    appointed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")
    district: Mapped[Region] = relationship(lazy="raise")


class SupplierStatusEvent(db.Model):
    """Who moved a supplier between review states, when, and why."""

    __tablename__ = "supplier_status_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShippingRule(db.Model):
    """A supplier's simple shipping tariff, quoted per supplier at checkout. Amounts in fen."""

    __tablename__ = "shipping_rule"
    __table_args__ = (
        CheckConstraint("base_fee_fen >= 0 AND per_extra_kg_fen >= 0 AND cold_chain_surcharge_fen >= 0",
                        name="non_negative_fees"),
    )

    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id", ondelete="CASCADE"), primary_key=True)
    base_fee_fen: Mapped[int] = mapped_column(Integer, default=0)
    base_weight_g: Mapped[int] = mapped_column(Integer, default=1000)  # covered by the base fee
    per_extra_kg_fen: Mapped[int] = mapped_column(Integer, default=0)  # per started kilogram above that
    cold_chain_surcharge_fen: Mapped[int] = mapped_column(Integer, default=0)
    free_over_fen: Mapped[int | None] = mapped_column(Integer)  # goods subtotal at or above which shipping is free
    excluded_region_codes: Mapped[list] = mapped_column(JSON, default=list)  # province/city/county codes not served
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
