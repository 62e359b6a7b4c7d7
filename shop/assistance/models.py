from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

# What wrote an entry: the order ledger's three moves, and the explicit `flask shop reattribute` command.
ENTRY_SOURCES = ("payment", "refund", "refund_released", "reattribution")
BUYER_KINDS = ("shopper", "institution")


class AttributionEntry(db.Model):
    """One money event on one order line, as it counts for consumption assistance. Append-only: nothing updates
    or deletes a row; a correction is a new row. Sums over entries are the figures: per district they equal the
    lines' paid_fen - refunded_fen to the fen (shipping is no district's product and is not attributed).

    The line and buyer columns are snapshots of the order (they never change for a line); `pair_id` is the
    support pair the line counts for (None: the buyer's region supports its district in no pair), chosen when the
    line's first money landed and kept by every later event of that line until `reattribute` moves it."""

    __tablename__ = "attribution_entry"
    __table_args__ = (
        Index("ix_attribution_entry_district_code_created_at", "district_code", "created_at"),
        Index("ix_attribution_entry_pair_id_created_at", "pair_id", "created_at"),
        # Statistics read a period of every district at once (shop.assistance.statistics).
        Index("ix_attribution_entry_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(string_enum(*ENTRY_SOURCES, name="attribution_source"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # signed: + paid or given back, - refunded or moved away
    quantity: Mapped[int] = mapped_column(Integer, default=0)  # signed units (rule: shop.assistance.attribution)
    district_code: Mapped[str] = mapped_column(ForeignKey("region.code"))  # the line's origin district
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    channel: Mapped[str] = mapped_column(String(16))  # the order's: retail, procurement, presale, store
    buyer_kind: Mapped[str] = mapped_column(string_enum(*BUYER_KINDS, name="buyer_kind"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    buyer_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    inside_chongqing: Mapped[bool | None] = mapped_column()  # 市内 / 市外; None when the buyer's region is unknown
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("support_pair.id"))
    supporter_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))  # the pair's supporter
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)  # the event's time


class SupporterOffice(db.Model):
    """A member of a supporting region's office (对口支援办公室): exports the figures of the pairs whose supporter
    is that region or inside it. Granted and revoked by platform admins; revoking deletes the row."""

    __tablename__ = "supporter_office"
    __table_args__ = (UniqueConstraint("user_id", "region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttributionMonth(db.Model):
    """A month (Asia/Shanghai) whose entries are summed in `attribution_rollup`, and how many entries it had then.
    Entries are never changed or deleted, so while the month still has exactly that many, the rollup is its exact
    sum; for a month not sealed a statistic counts the month's entries and reads the entries when it differs."""

    __tablename__ = "attribution_month"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    entries: Mapped[int] = mapped_column(Integer)
    # No transaction that began before the month ended was open when it was summed: no entry of the month can
    # still arrive (entries are dated inside their transaction), so the statistics trust it without counting.
    sealed: Mapped[bool] = mapped_column(default=False)
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttributionRollup(db.Model):
    """Entries of a rolled-up month summed per combination of the columns statistics group and filter by, with the
    number of distinct buyers in the combination (an institution counts as its organisation)."""

    __tablename__ = "attribution_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    district_code: Mapped[str] = mapped_column(String(6))
    product_id: Mapped[int] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    buyer_kind: Mapped[str] = mapped_column(String(16))
    inside_chongqing: Mapped[bool | None] = mapped_column()
    pair_id: Mapped[int | None] = mapped_column(Integer)
    supporter_code: Mapped[str | None] = mapped_column(String(6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    buyers: Mapped[int] = mapped_column(Integer)
