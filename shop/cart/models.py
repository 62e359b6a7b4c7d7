from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.catalog.models import Sku
from shop.database import UTCDateTime, utcnow
from shop.extensions import db


class CartLine(db.Model):
    """One SKU in a user's cart. The cart itself is just the user's lines."""

    __tablename__ = "cart_line"
    __table_args__ = (UniqueConstraint("user_id", "sku_id"), CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sku: Mapped[Sku] = relationship(lazy="raise")
