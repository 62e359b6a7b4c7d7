"""A statement (shop.procurement.statements) as an .xlsx workbook and as a CSV of its orders: the same figures as
the JSON, read from the same dict.

Amounts are written twice: integer fen (the figure of record) and 元 computed exactly from the integer
(shop.money.fen_to_yuan; a Decimal, never a float) with two decimals shown. Text that people typed (PO numbers,
names) is written as text: in the workbook as string cells, never formulas; in the CSV with a leading apostrophe
where a spreadsheet would read it as one (= + - @), so that opening the file runs nothing.
"""
from __future__ import annotations

import io

from openpyxl import Workbook

from shop.catalog.exporter import XLSX_MIMETYPE  # noqa: F401  (re-exported for the routes)
from shop.database import SHOP_TIMEZONE
from shop.money import fen_to_yuan
from shop.procurement.quotas import percent
from shop.spreadsheets import CSV_MIMETYPE, Sheet, csv_file  # noqa: F401  (CSV_MIMETYPE: for the routes)

# (key, header): a key ending in _fen is followed by its 元 column.
ORDER_COLUMNS = [
    ("number", "订单号 number"), ("placed_at", "下单时间 placed_at (Asia/Shanghai)"), ("status", "状态 status"),
    ("payment_plan", "付款方式 payment_plan"), ("po_number", "采购单号 po_number"),
    ("total_fen", "订单金额 total"), ("paid_fen", "已付 paid"), ("refunded_fen", "已退 refunded"),
    ("net_paid_fen", "实付 net_paid"), ("due_fen", "应付 due"), ("invoice_number", "账单号 invoice_number"),
    ("invoice_due_on", "到期日 invoice_due_on"), ("overdue", "逾期 overdue"),
]
BREAKDOWN_COLUMNS = [("quantity", "数量 quantity"), ("ordered_fen", "订购金额 ordered"),
                     ("net_paid_fen", "实付 net_paid")]
# breakdown → (sheet, its rows' key, the key's header, the name's header)
BREAKDOWNS = {"by_district": ("by district", "code", "区县代码 district_code", "区县 district"),
              "by_supplier": ("by supplier", "id", "供应商编号 supplier_id", "供应商 supplier"),
              "by_category": ("by category", "id", "品类编号 category_id", "品类 category")}
QUOTA_COLUMNS = [
    ("year", "年度 year"), ("filed", "已填报 filed"), ("canteen_food_spend_fen", "食堂食材支出 canteen_food_spend"),
    ("share_bp", "预留比例(基点) share_bp"), ("share", "预留比例 share"), ("target_fen", "预留金额 target"),
    ("progress_fen", "完成金额 progress"), ("share_reached_bp", "完成比例(基点) share_reached_bp"),
    ("remaining_fen", "尚需 remaining"), ("achieved", "是否达标 achieved"),
]
TOTAL_LABEL = "合计 total"
SHIPPING_LABEL = "运费（减优惠） shipping less discounts"


def _headers(columns) -> list[str]:
    headers = []
    for key, header in columns:
        headers.append(f"{header} (分 fen)" if key.endswith("_fen") else header)
        if key.endswith("_fen"):
            headers.append(f"{header} (元 yuan)")
    return headers


def _plain(value):
    """A value as a spreadsheet shows it: local time for instants, 是/否 for flags, None for nothing."""
    if hasattr(value, "astimezone"):
        return value.astimezone(SHOP_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    return value


def _values(row: dict, columns) -> list:
    """Each column's value; a fen column is followed by its amount in 元 (a Decimal)."""
    values = []
    for key, _ in columns:
        value = row.get(key)
        values.append(_plain(value))
        if key.endswith("_fen"):
            values.append(None if value is None else fen_to_yuan(value))
    return values


def _order_rows(statement: dict) -> list[list]:
    return [_values(order, ORDER_COLUMNS) for order in statement["orders"]]


def _breakdown_rows(statement: dict, name: str) -> list[list]:
    key = BREAKDOWNS[name][1]
    breakdown = statement[name]
    rows = [[row[key], row["name"], *_values(row, BREAKDOWN_COLUMNS)] for row in breakdown["rows"]]
    rows.append([None, SHIPPING_LABEL, *_values({"quantity": None, **breakdown["shipping"]}, BREAKDOWN_COLUMNS)])
    rows.append([None, TOTAL_LABEL, *_values(statement["totals"], BREAKDOWN_COLUMNS)])
    return rows


def _quota_rows(statement: dict) -> list[list]:
    rows = []
    for entry in statement["quotas"]:
        quota = entry["quota"]
        if quota is None:
            rows.append(_values({"year": entry["year"], "filed": False}, QUOTA_COLUMNS))
        else:
            rows.append(_values({**quota, "filed": True, "share": percent(quota["share_bp"])}, QUOTA_COLUMNS))
    return rows


def statement_xlsx(statement: dict) -> bytes:
    workbook = Workbook(write_only=True)
    organization, period = statement["organization"], statement["period"]
    workbook.properties.title = f"{organization['name']} 对账单 {period['from']} – {period['to']}"
    orders = Sheet(workbook, "orders", _headers(ORDER_COLUMNS))
    for row in _order_rows(statement):
        orders.append(row)
    orders.append(_total_order_row(statement))
    for name, (title, _, key_header, name_header) in BREAKDOWNS.items():
        sheet = Sheet(workbook, title, [key_header, name_header, *_headers(BREAKDOWN_COLUMNS)])
        for row in _breakdown_rows(statement, name):
            sheet.append(row)
    quota = Sheet(workbook, "quota", _headers(QUOTA_COLUMNS))
    for row in _quota_rows(statement):
        quota.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _total_order_row(statement: dict) -> list:
    """The orders sheet's last row: the totals under their columns."""
    totals = statement["totals"]
    return _values({"number": TOTAL_LABEL, "total_fen": totals["ordered_fen"],
                    **{key: totals[key] for key in ("paid_fen", "refunded_fen", "net_paid_fen", "due_fen")}},
                   ORDER_COLUMNS)


def statement_csv(statement: dict) -> bytes:
    """The orders, one per row; 元 as text with two decimals."""
    return csv_file(_headers(ORDER_COLUMNS), _order_rows(statement))


def filename(statement: dict, extension: str) -> str:
    period = statement["period"]
    return f"statement-{statement['organization']['id']}-{period['from']}-{period['to']}.{extension}"
