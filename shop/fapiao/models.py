from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, query_expression, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db
from shop.orders.models import Fulfillment, Order
from shop.suppliers.models import Supplier

FAPIAO_TYPES = ("normal", "special")  # 普通发票, 专用发票
FAPIAO_STATUSES = ("requested", "issued", "cancelled")
FAPIAO_TRANSITIONS = {"requested": {"issued", "cancelled"}, "issued": set(), "cancelled": set()}


class Fapiao(db.Model):
    """One supplier's fapiao for its part of an order: requested with the order, issued by the supplier."""

    __tablename__ = "fapiao"
    __table_args__ = (
        Index("ix_fapiao_supplier_id_id", "supplier_id", "id"),
        Index("ix_fapiao_organization_id_id", "organization_id", "id"),
        CheckConstraint("amount_fen IS NULL OR amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    fulfillment_id: Mapped[int] = mapped_column(ForeignKey("fulfillment.id", ondelete="CASCADE"), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    type: Mapped[str] = mapped_column(string_enum(*FAPIAO_TYPES, name="fapiao_type"))
    buyer_details: Mapped[dict] = mapped_column(JSON)  # title, taxpayer id, address, phone, bank, account
    status: Mapped[str] = mapped_column(string_enum(*FAPIAO_STATUSES, name="fapiao_status"), default="requested")
    number: Mapped[str | None] = mapped_column(String(20))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    # The e-fapiao file the supplier attached (PDF), served to the buyer as issued.
    file_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    file_size: Mapped[int | None] = mapped_column(Integer)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(lazy="raise")
    fulfillment: Mapped[Fulfillment] = relationship(lazy="raise")
    supplier: Mapped[Supplier] = relationship(lazy="raise")
    # What may be invoiced of the fulfilment now, when the query asks for it (shop.fapiao.services).
    invoiceable_fen: Mapped[int | None] = query_expression()

    @property
    def has_file(self) -> bool:
        return self.file_size is not None

    def can_move_to(self, status: str) -> bool:
        return status in FAPIAO_TRANSITIONS[self.status]
