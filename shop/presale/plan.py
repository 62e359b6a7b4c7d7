"""The campaign's production plan: live demand (active pledges) against committed supply, for the partners of
the campaign (shop.presale.supply.partner_campaign) and platform admins. A handful of grouped queries, however
many pledges: never a loop over pledges.

Demand counts every active pledge; `paid_demand` those paid (or on terms), the only ones the close counts.
Demand is split by buyer kind (an order with an organisation is an institution's, any other a shopper's) and by
the buyer's region; supply by supplier and grade. Cases: the SKU's qty_step is its case size.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import case, func, select

from shop.catalog.queries import load_sku
from shop.extensions import db
from shop.orders.models import Order
from shop.presale.models import Pledge, SupplyCommitment
from shop.presale.supply import partner_campaign
from shop.regions import services as regions
from shop.spreadsheets import Sheet
from shop.suppliers import services as suppliers

BUYER_KINDS = ("shopper", "institution")


def _cases(quantity: int, case_size: int) -> int:
    return -(-quantity // case_size)  # whole cases, rounded up


def build_plan(*, viewer, campaign_id: int) -> dict:
    campaign = partner_campaign(viewer=viewer, campaign_id=campaign_id)
    case_size = load_sku(campaign.sku_id).qty_step
    active = (select(Pledge.quantity, Order.organization_id, Order.buyer_region_code, Order.status)
              .join(Order, Order.id == Pledge.order_id)
              .where(Pledge.campaign_id == campaign_id, Pledge.status == "active").subquery())
    kind = case((active.c.organization_id.is_not(None), "institution"), else_="shopper")
    paid_units = func.sum(case((active.c.status != "pending_payment", active.c.quantity), else_=0))
    rows = db.session.execute(select(kind, func.sum(active.c.quantity), func.count(), paid_units).group_by(kind)).all()
    by_kind = {k: (units, pledges) for k, units, pledges, _ in rows}
    paid_demand = sum(paid for *_, paid in rows)
    by_region = db.session.execute(select(active.c.buyer_region_code, func.sum(active.c.quantity), func.count())
                                   .group_by(active.c.buyer_region_code)
                                   .order_by(active.c.buyer_region_code)).all()
    supply = db.session.execute(
        select(SupplyCommitment.supplier_id, SupplyCommitment.grade, func.sum(SupplyCommitment.quantity),
               func.sum(SupplyCommitment.delivered_quantity))
        .where(SupplyCommitment.campaign_id == campaign_id)
        .group_by(SupplyCommitment.supplier_id, SupplyCommitment.grade)
        .order_by(SupplyCommitment.supplier_id, SupplyCommitment.grade)).all()
    region_names = regions.names_of(code for code, _, _ in by_region if code)
    supplier_names = suppliers.supplier_names(supplier_ids=[row[0] for row in supply])

    demand = sum(units for units, _ in by_kind.values())
    committed = sum(quantity for _, _, quantity, _ in supply)
    return {
        "campaign_id": campaign.id, "status": campaign.status, "case_size": case_size,
        "totals": {
            "demand": demand, "paid_demand": paid_demand,
            "pledges": sum(pledges for _, pledges in by_kind.values()),
            "minimum_quantity": campaign.minimum_quantity, "capacity": campaign.capacity,
            "gap_to_minimum": max(campaign.minimum_quantity - demand, 0),
            "gap_to_capacity": max(campaign.capacity - demand, 0),
            "committed": committed, "delivered": sum(delivered for *_, delivered in supply),
            "supply_minus_demand": committed - demand, "cases_needed": _cases(demand, case_size),
        },
        "demand_by_kind": [{"kind": k, "quantity": by_kind.get(k, (0, 0))[0], "pledges": by_kind.get(k, (0, 0))[1]}
                           for k in BUYER_KINDS],
        "demand_by_region": [{"region_code": code, "name": region_names.get(code, ""), "quantity": units,
                              "pledges": pledges} for code, units, pledges in by_region],
        "supply_by_supplier": [{"supplier_id": supplier_id, "name": supplier_names.get(supplier_id, ""),
                                "grade": grade, "quantity": quantity, "delivered_quantity": delivered}
                               for supplier_id, grade, quantity, delivered in supply],
    }


SUMMARY_LABELS = {"demand": "需求 demand", "paid_demand": "已付定金需求 paid demand", "pledges": "认购笔数 pledges", "minimum_quantity": "成团量 minimum",
                  "capacity": "产能 capacity", "gap_to_minimum": "距成团 gap to minimum",
                  "gap_to_capacity": "距产能 gap to capacity", "committed": "承诺供货 committed",
                  "delivered": "已交付 delivered", "supply_minus_demand": "供减需 supply minus demand",
                  "cases_needed": "所需箱数 cases needed"}


def plan_xlsx(plan: dict) -> bytes:
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"campaign {plan['campaign_id']} plan"
    summary = Sheet(workbook, "summary", ["项目 figure", "key", "数值 value"])
    for key, label in SUMMARY_LABELS.items():
        summary.append([label, key, plan["totals"][key]])
    summary.append(["箱规 case size", "case_size", plan["case_size"]])
    demand = Sheet(workbook, "demand", ["维度 by", "代码 code", "名称 name", "数量 quantity", "笔数 pledges"])
    for row in plan["demand_by_kind"]:
        demand.append(["kind", row["kind"], row["kind"], row["quantity"], row["pledges"]])
    for row in plan["demand_by_region"]:
        demand.append(["region", row["region_code"], row["name"], row["quantity"], row["pledges"]])
    supply = Sheet(workbook, "supply", ["供应商编号 supplier_id", "供应商 supplier", "等级 grade",
                                        "承诺 quantity", "已交付 delivered_quantity"])
    for row in plan["supply_by_supplier"]:
        supply.append([row["supplier_id"], row["name"], row["grade"], row["quantity"], row["delivered_quantity"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(plan: dict) -> str:
    return f"campaign-{plan['campaign_id']}-plan.xlsx"
