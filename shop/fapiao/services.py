"""Fapiao verbs. Each supplier is the seller of its fulfilment, so it lists and issues the fapiao of its own
part of an order; the buyer, and the organisation it bought for, read them and download the PDF.

Who sees a fapiao: the order's buyer; members of the order's organisation allowed every member's requisitions
(approvers and admins; a buyer-role member sees those it placed); members of the issuing supplier, once the
order is the supplier's business (paid). Everyone else gets 404, as for a missing one.

Opening requests with an order is shop.fapiao.requests (the ordering domains call it in their unit of work).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt

from sqlalchemy import BigInteger, cast, func, select, update
from sqlalchemy.orm import contains_eager, joinedload, with_expression

from shop.accounts.services import get_user
from shop.database import local_today, utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.fapiao import error_codes
from shop.fapiao.models import Fapiao
from shop.money import format_fen
from shop.notifications.services import enqueue
from shop.orders.fulfillment import visible_to_suppliers
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.orders.services import get_order
from shop.pagination import SortKey, keyset_page
from shop.procurement import organizations
from shop.procurement.roles import LADDER as ORGANIZATION_ROLES
from shop.suppliers.services import member_supplier_ids, require_role
from shop.transaction import transaction

ISSUABLE_FULFILLMENT_STATUSES = ("shipped", "delivered")  # a fapiao states goods sold and sent
MAX_PDF_BYTES = 2 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
_NEWEST_FIRST = [SortKey(Fapiao.id, lambda f: f.id, descending=True)]


# --- reading ------------------------------------------------------------------------------------------------


def invoiceable_fen():
    """The fulfilment's goods and shipping less what was refunded on them (shop.orders.ledger keeps both exact),
    as a SQL expression per fapiao row."""
    part = (select(Fulfillment.subtotal_fen + Fulfillment.shipping_fen - Fulfillment.shipping_refunded_fen)
            .where(Fulfillment.id == Fapiao.fulfillment_id).correlate(Fapiao).scalar_subquery())
    # PostgreSQL sums a bigint to numeric (a Decimal in Python): cast back, money stays integer fen.
    refunded = (select(cast(func.coalesce(func.sum(OrderLine.refunded_fen), 0), BigInteger))
                .where(OrderLine.fulfillment_id == Fapiao.fulfillment_id).correlate(Fapiao).scalar_subquery())
    return part - refunded


def _query():
    """Everything the schema shows, in one statement (the order is joined for filters too)."""
    return (select(Fapiao).join(Order, Order.id == Fapiao.order_id)
            .options(contains_eager(Fapiao.order), joinedload(Fapiao.fulfillment), joinedload(Fapiao.supplier),
                     with_expression(Fapiao.invoiceable_fen, invoiceable_fen())))


def _load(fapiao_id: int, *where) -> Fapiao | None:
    return db.session.scalar(_query().where(Fapiao.id == fapiao_id, *where)
                             .execution_options(populate_existing=True))


def list_for_supplier(*, user, supplier_id: int | None = None, status: str | None = None, limit: int,
                      cursor: str | None):
    """A supplier's fapiao requests, newest first: of one supplier the caller is a member of (404 for another),
    or of all of the caller's suppliers."""
    if supplier_id is not None:
        require_role(user=user, supplier_id=supplier_id, action="view")
        supplier_ids = [supplier_id]
    else:
        supplier_ids = member_supplier_ids(user=user)
    stmt = _query().where(Fapiao.supplier_id.in_(supplier_ids), visible_to_suppliers())
    if status:
        stmt = stmt.where(Fapiao.status == status)
    return keyset_page(db.session, stmt, keys=_NEWEST_FIRST, limit=limit, cursor=cursor)


def list_for_order(*, user, order_id: int) -> list[Fapiao]:
    """The fapiao of the buyer's own order, one per supplier (404 for someone else's order)."""
    get_order(user=user, order_id=order_id)
    return list(db.session.scalars(_query().where(Fapiao.order_id == order_id).order_by(Fapiao.id)).unique())


def list_for_organization(*, user, organization_id: int, status: str | None = None, limit: int,
                          cursor: str | None):
    """An organisation's fapiao, newest first: approvers and admins see all, buyers those of the orders they
    placed; anyone outside the organisation gets 404."""
    member = organizations.require_role(user=user, organization_id=organization_id, action="view")
    stmt = _query().where(Fapiao.organization_id == organization_id)
    if not ORGANIZATION_ROLES.allows(member.role, "view_requisitions"):
        stmt = stmt.where(Fapiao.buyer_id == user.id)
    if status:
        stmt = stmt.where(Fapiao.status == status)
    return keyset_page(db.session, stmt, keys=_NEWEST_FIRST, limit=limit, cursor=cursor)


def _organization_sees(user, fapiao: Fapiao) -> bool:
    if fapiao.organization_id is None:
        return False
    member = organizations.membership(user=user, organization_id=fapiao.organization_id)
    return member is not None and ORGANIZATION_ROLES.allows(member.role, "view_requisitions")


def _supplier_sees(user, fapiao: Fapiao) -> bool:
    try:
        require_role(user=user, supplier_id=fapiao.supplier_id, action="view")
    except NotFound:
        return False
    return db.session.scalar(select(Order.id).where(Order.id == fapiao.order_id, visible_to_suppliers())) is not None


def get_fapiao(*, user, fapiao_id: int) -> Fapiao:
    fapiao = _load(fapiao_id)
    if fapiao is None or not (fapiao.buyer_id == user.id or _organization_sees(user, fapiao)
                              or _supplier_sees(user, fapiao)):
        raise NotFound("No such fapiao.", code=error_codes.NOT_FOUND)
    return fapiao


def get_file(*, user, fapiao_id: int) -> tuple[bytes, str]:
    """The attached PDF and a file name for it, for those who may see the fapiao."""
    fapiao = get_fapiao(user=user, fapiao_id=fapiao_id)
    data = db.session.scalar(select(Fapiao.file_pdf).where(Fapiao.id == fapiao_id)) \
        if fapiao.status == "issued" and fapiao.has_file else None
    if data is None:
        raise NotFound("This fapiao has no PDF attached.", code=error_codes.FILE_NOT_ATTACHED)
    return data, f"fapiao-{fapiao.order.number}-{fapiao.number}.pdf"


# --- issuing ------------------------------------------------------------------------------------------------


def _for_supplier(user, fapiao_id: int, *, action: str) -> Fapiao:
    """The fapiao when the caller's role in its supplier allows `action`: a non-member gets 404 (also the buyer),
    a member with too low a role 403 role_required."""
    fapiao = _load(fapiao_id, visible_to_suppliers())
    if fapiao is None:
        raise NotFound("No such fapiao.", code=error_codes.NOT_FOUND)
    try:
        require_role(user=user, supplier_id=fapiao.supplier_id, action=action)
    except NotFound:
        raise NotFound("No such fapiao.", code=error_codes.NOT_FOUND) from None
    return fapiao


def _check_issuable(fapiao: Fapiao) -> None:
    if fapiao.status == "issued":
        raise Conflict(f"Fapiao {fapiao.number} was issued already.", code=error_codes.ALREADY_ISSUED)
    if fapiao.status == "cancelled" or fapiao.fulfillment.status == "cancelled":
        raise Conflict("The fulfilment was cancelled, so there is nothing to invoice.",
                       code=error_codes.FAPIAO_CANCELLED)
    if fapiao.fulfillment.status not in ISSUABLE_FULFILLMENT_STATUSES:
        raise Conflict("Ship the fulfilment first: a fapiao is issued for goods sent.", code=error_codes.NOT_SHIPPED)
    if fapiao.type == "special" and not (fapiao.buyer_details or {}).get("taxpayer_id"):
        raise Conflict("A special (专用) fapiao needs the buyer's taxpayer id, and the request has none.",
                       code=error_codes.TAXPAYER_ID_MISSING)


def _check_values(fapiao: Fapiao, *, issued_on: dt.date, amount_fen: int) -> None:
    if issued_on > local_today():
        raise ValidationFailed("A fapiao cannot be dated in the future.", code=error_codes.ISSUED_ON_IN_FUTURE,
                               errors={"issued_on": ["After today (China time)."]})
    placed_on = local_today(fapiao.order.placed_at)
    if issued_on < placed_on:
        raise ValidationFailed("A fapiao cannot be dated before the order was placed.",
                               code=error_codes.ISSUED_BEFORE_ORDER,
                               errors={"issued_on": [f"On or after {placed_on.isoformat()}."]})
    if amount_fen > fapiao.invoiceable_fen:
        raise ValidationFailed(f"At most {format_fen(fapiao.invoiceable_fen)} may be invoiced for this fulfilment.",
                               code=error_codes.AMOUNT_ABOVE_INVOICEABLE,
                               errors={"amount_fen": [f"At most {fapiao.invoiceable_fen}."]},
                               extra={"invoiceable_fen": fapiao.invoiceable_fen})


def decode_pdf(pdf_base64: str) -> bytes:
    """The PDF's bytes, or a 422 naming what is wrong. (The route's body limit bounds what is decoded.)"""
    def refuse(code, message):
        return ValidationFailed(message, code=code, errors={"pdf_base64": [message]})

    try:
        data = base64.b64decode("".join(pdf_base64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refuse(error_codes.PDF_NOT_BASE64, "Not standard base64.") from None
    if len(data) > MAX_PDF_BYTES:
        raise refuse(error_codes.PDF_TOO_LARGE, "The PDF is larger than 2 MiB.")
    if not data.startswith(PDF_MAGIC):
        raise refuse(error_codes.NOT_A_PDF, "Not a PDF file (it must start with %PDF-).")
    return data


def issue(*, user, fapiao_id: int, number: str, issued_on: dt.date, amount_fen: int,
          pdf_base64: str | None = None) -> Fapiao:
    """The supplier records the fapiao it issued for its shipped fulfilment, once; the buyer is told."""
    with transaction():
        order_id = _for_supplier(user, fapiao_id, action="issue_fapiao").order_id
        # The order row is what refunds update first (shop.orders.ledger): locking it makes the invoiceable
        # amount read next current, and a second issue of the same fapiao wait here and then see it issued.
        db.session.execute(select(Order.id).where(Order.id == order_id).with_for_update())
        fapiao = _load(fapiao_id)
        _check_issuable(fapiao)
        _check_values(fapiao, issued_on=issued_on, amount_fen=amount_fen)
        pdf = decode_pdf(pdf_base64) if pdf_base64 is not None else None
        issued = db.session.execute(
            update(Fapiao).where(Fapiao.id == fapiao_id, Fapiao.status == "requested")
            .values(status="issued", number=number, issued_on=issued_on, amount_fen=amount_fen, file_pdf=pdf,
                    file_size=len(pdf) if pdf is not None else None, issued_by_id=user.id, issued_at=utcnow())
            .execution_options(synchronize_session=False))
        if issued.rowcount != 1:  # the last word, whatever the locks did (SQLite ignores FOR UPDATE)
            raise Conflict("The fapiao was issued meanwhile.", code=error_codes.ALREADY_ISSUED)
        _tell_buyer(fapiao, number=number, amount_fen=amount_fen)
    return _load(fapiao_id)


def _tell_buyer(fapiao: Fapiao, *, number: str, amount_fen: int) -> None:
    buyer = get_user(user_id=fapiao.buyer_id)
    kind = "专用发票" if fapiao.type == "special" else "普通发票"
    enqueue(email=buyer.email, user_id=buyer.id, template="fapiao_issued", order_id=fapiao.order_id,
            subject=f"订单 {fapiao.order.number} 的发票已开具 / Fapiao issued",
            body=f"{fapiao.supplier.name} 已为订单 {fapiao.order.number} 开具{kind}，号码 {number}，"
                 f"金额 {format_fen(amount_fen)}。可在订单的发票页面查看和下载。")
