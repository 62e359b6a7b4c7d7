from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, utcnow
from shop.extensions import db
from shop.regions.models import Region


class Address(db.Model):
    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(60))
    mobile: Mapped[str] = mapped_column(String(20))  # E.164
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))  # county level
    detail: Mapped[str] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(6))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    region: Mapped[Region] = relationship(lazy="raise")
