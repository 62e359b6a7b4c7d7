"""A settlement's statement: the entries behind its figures (one row per order line, shipping fee or
compensation moved, with its day, its amount, and the rate its commission base was taken at), and the summary,
as an .xlsx workbook. Amounts in integer fen (of record) and 元 computed exactly from them (shop.money)."""
from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select

from shop.extensions import db
from shop.money import fen_to_yuan
from shop.settlements.figures import bounds, local_day, rates_of
from shop.settlements.models import SettlementEntry
from shop.spreadsheets import Sheet

SOURCE_LABELS = {"payment": "收款 payment", "refund": "退款 refund", "refund_released": "退款未成 refund released",
                 "compensation": "违约补偿 compensation"}
KIND_LABELS = {"line": "商品 goods", "shipping": "运费 shipping", "compensation": "补偿 compensation"}


def entries_of(supplier_id: int, month: str) -> list[dict]:
    """The supplier's entries dated in the month, oldest first, each with the rate of its day (goods only)."""
    start, end = bounds(month)
    rows = list(db.session.scalars(select(SettlementEntry).where(SettlementEntry.supplier_id == supplier_id,
                                                                 SettlementEntry.created_at >= start,
                                                                 SettlementEntry.created_at < end)
                                   .order_by(SettlementEntry.id)))
    rates = rates_of([supplier_id])[supplier_id]
    out = []
    for entry in rows:
        day = local_day(entry.created_at)
        bps = rates.at(day)[1] if entry.kind == "line" else None
        out.append({"id": entry.id, "day": day, "source": entry.source, "kind": entry.kind,
                    "order_id": entry.order_id, "order_number": entry.order_number,
                    "order_line_id": entry.order_line_id, "description": entry.description,
                    "amount_fen": entry.amount_fen, "bps": bps})
    return out


def _yuan(fen: int | None):
    return None if fen is None else fen_to_yuan(fen)


SUMMARY = [("sales_fen", "货款 sales"), ("refunds_fen", "退款 refunds"), ("shipping_fen", "运费 shipping"),
           ("shipping_refunds_fen", "运费退款 shipping refunds"), ("commission_fen", "平台佣金 commission"),
           ("compensation_fen", "违约补偿 compensation"), ("payable_fen", "应付供应商 payable")]


def statement_xlsx(settlement, entries: list[dict], supplier_name: str) -> bytes:
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{supplier_name} 结算单 {settlement.month}"
    summary = Sheet(workbook, "summary", ["项目 item", "金额 (分 fen)", "金额 (元 yuan)"])
    summary.append(["供应商 supplier", supplier_name, None])
    summary.append(["月份 month (Asia/Shanghai)", settlement.month, None])
    summary.append(["状态 status", settlement.status, None])
    for key, label in SUMMARY:
        value = getattr(settlement, key)
        summary.append([label, value, _yuan(value)])
    rates = Sheet(workbook, "commission", ["费率编号 rate_id", "费率 bps", "计佣基数 base (分 fen)",
                                           "计佣基数 base (元 yuan)", "佣金 commission (分 fen)",
                                           "佣金 commission (元 yuan)"])
    for part in settlement.commissions:
        rates.append([part.rate_id if part.rate_id is not None else "默认 default", part.bps, part.base_fen,
                      _yuan(part.base_fen), part.commission_fen, _yuan(part.commission_fen)])
    lines = Sheet(workbook, "lines", ["日期 day", "类型 source", "项目 kind", "订单号 order_number",
                                      "订单行 order_line_id", "说明 description", "金额 amount (分 fen)",
                                      "金额 amount (元 yuan)", "佣金费率 bps"])
    for entry in entries:
        lines.append([entry["day"], SOURCE_LABELS[entry["source"]], KIND_LABELS[entry["kind"]],
                      entry["order_number"] or "", entry["order_line_id"], entry["description"],
                      entry["amount_fen"], _yuan(entry["amount_fen"]), entry["bps"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(settlement) -> str:
    return f"settlement-{settlement.supplier_id}-{settlement.month}.xlsx"
