from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

REGION_LEVELS = ("province", "city", "county")
# Several pairing programmes exist; only three_gorges_counterpart is the 1992 对口支援 programme.
SUPPORT_KINDS = ("three_gorges_counterpart", "east_west_cooperation", "chongqing_internal", "other")


class Region(db.Model):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(string_enum(*REGION_LEVELS, name="region_level"), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    reservoir_district: Mapped[bool] = mapped_column(default=False, index=True)

    # For joining a county's city and province into one read (addresses.get_address); walk it with region_chain.
    parent: Mapped[Region | None] = relationship(remote_side=[code], lazy="raise")


class SupportPair(db.Model):
    __tablename__ = "support_pair"
    __table_args__ = (UniqueConstraint("supporter_code", "recipient_code", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    recipient_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    kind: Mapped[str] = mapped_column(string_enum(*SUPPORT_KINDS, name="support_kind"))
    verified: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    supporter: Mapped[Region] = relationship(foreign_keys=[supporter_code], lazy="raise")
    recipient: Mapped[Region] = relationship(foreign_keys=[recipient_code], lazy="raise")
