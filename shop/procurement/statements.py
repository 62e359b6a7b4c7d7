"""An organisation's statement (对账单) for a period of local days: its procurement orders with what each cost, was
paid, refunded and still owes (with the invoice on terms), totals, breakdowns by origin district, supplier and
category, and the reserved-share progress of each year the period touches.

What is listed: procurement orders placed in the period, except those still awaiting approval or rejected (they
never became a purchase) and those cancelled before any money moved. A cancelled order that was paid stays
listed, with its refund, so that the money is accounted for.

The breakdowns add up to the totals to the fen: their rows are the goods (order lines: quantity, line total, paid
minus refunded), and one `shipping` part holds the rest of each order (its shipping fees less its discounts, and
what was paid and refunded of the shipping). Rows + shipping = totals, for each breakdown.

A fixed number of SQL statements, whatever the number of orders: the orders (with their invoices), the lines
grouped by district, supplier and category at once, the shipping, the supplier names and the quotas.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import load_only

from shop.catalog.models import Category
from shop.database import SHOP_TIMEZONE, local_day_start, local_today
from shop.errors import ValidationFailed
from shop.extensions import db
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.procurement import error_codes, invoices
from shop.procurement.models import Invoice
from shop.procurement.quotas import FIRST_YEAR, LAST_YEAR, quota_payloads, require_reader
from shop.regions.models import Region
from shop.suppliers.services import supplier_names

MAX_PERIOD_DAYS = 366
NOT_PURCHASES = ("awaiting_approval", "rejected")
UNCATEGORISED = "未分类"


def check_period(start: dt.date, end: dt.date) -> None:
    problem = None
    if not (FIRST_YEAR <= start.year and end.year <= LAST_YEAR):
        problem = f"Statements cover days of the years {FIRST_YEAR} to {LAST_YEAR}."  # also keeps dates computable
    elif start > end:
        problem = "`from` is after `to`."
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        problem = f"At most {MAX_PERIOD_DAYS} days, both ends included."
    if problem:
        raise ValidationFailed(problem, code=error_codes.INVALID_PERIOD, errors={"to": [problem]})


def _listed(organization_id: int, start: dt.date, end: dt.date):
    """The orders a statement lists (the same condition for orders, lines and shipping)."""
    return and_(Order.organization_id == organization_id, Order.channel == "procurement",
                Order.placed_at >= local_day_start(start),
                Order.placed_at < local_day_start(end + dt.timedelta(days=1)),
                Order.status.not_in(NOT_PURCHASES),
                not_(and_(Order.status == "cancelled", Order.paid_fen == 0)))


def _orders(listed, today: dt.date) -> tuple[list[dict], int]:
    """The listed orders, oldest first, and what they hold besides their lines (shipping less discounts)."""
    rows = list(db.session.execute(
        select(Order, Invoice.number.label("invoice_number"), Invoice.due_on.label("invoice_due_on"))
        .outerjoin(Invoice, Invoice.order_id == Order.id).where(listed).order_by(Order.placed_at, Order.id)
        .options(load_only(Order.id, Order.number, Order.placed_at, Order.status, Order.payment_plan,
                           Order.po_number, Order.total_fen, Order.shipping_fen, Order.discount_fen, Order.paid_fen,
                           Order.refunded_fen, Order.paid_at))))
    orders = []
    for order, invoice_number, invoice_due_on in rows:
        orders.append({
            "id": order.id, "number": order.number, "placed_at": order.placed_at,
            "placed_on": order.placed_at.astimezone(SHOP_TIMEZONE).date(), "status": order.status,
            "payment_plan": order.payment_plan, "po_number": order.po_number, "total_fen": order.total_fen,
            "paid_fen": order.paid_fen, "refunded_fen": order.refunded_fen,
            "net_paid_fen": order.paid_fen - order.refunded_fen,
            "due_fen": order.due_fen, "invoice_number": invoice_number, "invoice_due_on": invoice_due_on,
            "overdue": invoices.is_overdue(invoice_due_on, order, today),
        })
    return orders, sum(order.shipping_fen - order.discount_fen for order, _, _ in rows)


def _line_groups(listed) -> list:
    """Order lines summed per (district, supplier, category): the three breakdowns are roll-ups of these."""
    return list(db.session.execute(
        select(OrderLine.origin_district_code, Region.name.label("district_name"), OrderLine.supplier_id,
               OrderLine.category_id, Category.name.label("category_name"),
               func.sum(OrderLine.quantity).label("quantity"), func.sum(OrderLine.line_total_fen).label("ordered"),
               func.sum(OrderLine.paid_fen - OrderLine.refunded_fen).label("net_paid"))
        .join(Order, Order.id == OrderLine.order_id)
        .join(Region, Region.code == OrderLine.origin_district_code)
        .outerjoin(Category, Category.id == OrderLine.category_id)
        .where(listed)
        .group_by(OrderLine.origin_district_code, Region.name, OrderLine.supplier_id, OrderLine.category_id,
                  Category.name)))


def _shipping_net_paid(listed) -> int:
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Fulfillment.shipping_paid_fen - Fulfillment.shipping_refunded_fen), 0))
        .join(Order, Order.id == Fulfillment.order_id).where(listed)))


def _roll_up(groups, key, describe) -> list[dict]:
    rows: dict = defaultdict(lambda: {"quantity": 0, "ordered_fen": 0, "net_paid_fen": 0})
    for group in groups:
        row = rows[key(group)]
        row["quantity"] += int(group.quantity)
        row["ordered_fen"] += int(group.ordered)
        row["net_paid_fen"] += int(group.net_paid)
    return [{**describe(k), **rows[k]} for k in sorted(rows, key=lambda k: (k is None, k))]


def _breakdowns(groups, names_of_suppliers: dict[int, str], shipping: dict) -> dict:
    districts = {g.origin_district_code: g.district_name for g in groups}
    categories = {g.category_id: g.category_name or UNCATEGORISED for g in groups}
    keys = {  # breakdown → (its key in a line group, its row's description)
        "by_district": (lambda g: g.origin_district_code, lambda code: {"code": code, "name": districts[code]}),
        "by_supplier": (lambda g: g.supplier_id, lambda sid: {"id": sid, "name": names_of_suppliers.get(sid, "")}),
        "by_category": (lambda g: g.category_id, lambda cid: {"id": cid, "name": categories[cid]}),
    }
    return {name: {"rows": _roll_up(groups, key, describe), "shipping": shipping}
            for name, (key, describe) in keys.items()}


def _totals(orders: list[dict], quantity: int) -> dict:
    def total(field: str) -> int:
        return sum(order[field] for order in orders)

    return {"order_count": len(orders), "quantity": quantity, "ordered_fen": total("total_fen"),
            "paid_fen": total("paid_fen"), "refunded_fen": total("refunded_fen"),
            "net_paid_fen": total("net_paid_fen"), "due_fen": total("due_fen"),
            "overdue_fen": sum(order["due_fen"] for order in orders if order["overdue"]),
            "overdue_count": sum(1 for order in orders if order["overdue"])}


def build_statement(*, viewer, organization_id: int, start: dt.date, end: dt.date,
                    today: dt.date | None = None) -> dict:
    """The statement of `start`..`end` (local days, both included). Approvers and admins of the organisation
    and platform admins; buyers get 403, everyone else 404."""
    organization = require_reader(user=viewer, organization_id=organization_id, action="view_statements")
    check_period(start, end)
    today = today or local_today()
    listed = _listed(organization_id, start, end)
    orders, shipping_ordered = _orders(listed, today)
    groups = _line_groups(listed)
    shipping = {"ordered_fen": shipping_ordered, "net_paid_fen": _shipping_net_paid(listed)}
    names = supplier_names(supplier_ids={g.supplier_id for g in groups})
    quotas = quota_payloads(organization_id=organization_id, years=range(start.year, end.year + 1))
    return {
        "organization": {"id": organization.id, "name": organization.name},
        "period": {"from": start, "to": end}, "as_of": today,
        "orders": orders,
        "totals": _totals(orders, quantity=sum(int(g.quantity) for g in groups)),
        **_breakdowns(groups, names, shipping),
        "quotas": [{"year": year, "quota": quota} for year, quota in quotas.items()],
    }
