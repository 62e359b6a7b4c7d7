"""Invoices on terms (账期): issued when a requisition on terms is approved, due net 15/30/60 days later, paid by
bank transfers an operator records against the order (shop.payments.services.record_bank_transfer: partial
transfers allowed, overpayment refused). What is paid is the order's; the invoice is its number and due date.
An organisation with an overdue invoice places no new orders on terms until it is paid."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from shop.accounts.permissions import ensure_platform_admin
from shop.database import local_today
from shop.extensions import db
from shop.orders.models import Order
from shop.pagination import SortKey, keyset_page
from shop.procurement.models import TERMS_DAYS, Invoice, Organization
from shop.procurement.organizations import require_role


def issue(order: Order, organization: Organization, *, today: dt.date | None = None) -> Invoice:
    """In the caller's unit of work (the approval's). One invoice per order: the unique key says so."""
    issued_on = today or local_today()
    invoice = Invoice(order_id=order.id, organization_id=organization.id, amount_fen=order.total_fen,
                      terms=order.payment_terms, issued_on=issued_on,
                      due_on=issued_on + dt.timedelta(days=TERMS_DAYS[order.payment_terms]))
    db.session.add(invoice)
    db.session.flush()
    invoice.number = f"INV{issued_on:%Y%m%d}{invoice.id:06d}"
    return invoice


LAPSED_STATUSES = ("cancelled", "rejected")  # an invoice of such an order is void (or paid), never overdue


def is_overdue(due_on: dt.date | None, order: Order, today: dt.date) -> bool:
    """Open past its due date: the order is live and not fully paid (the rule _overdue states in SQL)."""
    return due_on is not None and due_on < today and order.paid_fen < order.total_fen and \
        order.status not in LAPSED_STATUSES


def _overdue(today: dt.date):
    """Open past its due date: the order is live and not fully paid."""
    return and_(Invoice.due_on < today, Order.paid_fen < Order.total_fen,
                Order.status.notin_(LAPSED_STATUSES))


def has_overdue(organization_id: int, *, today: dt.date | None = None) -> bool:
    return db.session.scalar(select(func.count()).select_from(Invoice).join(Order, Order.id == Invoice.order_id)
                             .where(Invoice.organization_id == organization_id,
                                    _overdue(today or local_today()))) > 0


def invoices_of(order_ids: list[int]) -> list[Invoice]:
    if not order_ids:
        return []
    return list(db.session.scalars(select(Invoice).where(Invoice.order_id.in_(order_ids))
                                   .options(joinedload(Invoice.order))))


def _query():
    return select(Invoice).join(Order, Order.id == Invoice.order_id).options(joinedload(Invoice.order))


def list_invoices(*, user, organization_id: int, overdue: bool | None = None, limit: int, cursor: str | None,
                  today: dt.date | None = None):
    """The organisation's invoices, newest first (approvers and admins: the finance view)."""
    require_role(user=user, organization_id=organization_id, action="view_requisitions")
    stmt = _query().where(Invoice.organization_id == organization_id)
    if overdue is not None:
        condition = _overdue(today or local_today())
        stmt = stmt.where(condition if overdue else ~condition)
    return keyset_page(db.session, stmt, keys=[SortKey(Invoice.id, lambda i: i.id, descending=True)], limit=limit,
                       cursor=cursor)


def list_overdue(*, actor, limit: int, cursor: str | None, today: dt.date | None = None):
    """Every organisation's overdue invoices, oldest due first: the operators' collection list."""
    ensure_platform_admin(actor)
    stmt = _query().where(_overdue(today or local_today()))
    return keyset_page(db.session, stmt, keys=[SortKey(Invoice.due_on, lambda i: i.due_on),
                                               SortKey(Invoice.id, lambda i: i.id)], limit=limit, cursor=cursor)
