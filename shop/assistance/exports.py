"""The statistics as .xlsx and CSV, for operators (everything) and supporter offices (the pairs of their region
and inside it). Raw figures (no suppression: the readers are accountable for them), sums only, never a buyer.

The workbook: `summary` (the items as the API gives them, unsuppressed, with each group's number of buyers),
`detail` (per group, buyer kind and product) and `about` (period, grouping, filters, scope). The CSV is the
detail rows, UTF-8 with a byte-order mark (Excel reads Chinese right only with it); sum them per key for the
summary. Amounts in fen and in 元 (exact, from the fen); text never runs as a formula (shop.spreadsheets).
"""
from __future__ import annotations

import dataclasses
import io

from openpyxl import Workbook

from shop.assistance import error_codes as codes
from shop.assistance import offices
from shop.assistance.statistics import BUYER_KIND_LABELS, Selection, detail, statistics, supporter_scope
from shop.errors import Forbidden, Unauthorized
from shop.money import fen_to_yuan
from shop.spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE, Sheet, csv_file

SUMMARY_HEADERS = ["键 key", "名称 label", "金额 amount (分 fen)", "金额 amount (元 yuan)", "数量 quantity",
                   "经结对 via pairs (分 fen)", "经结对 via pairs (元 yuan)", "买家数 buyers"]
DETAIL_HEADERS = ["键 key", "名称 label", "买家类型 buyer_kind", "商品编号 product_id", "商品 product",
                  "金额 amount (分 fen)", "金额 amount (元 yuan)", "数量 quantity"]
TOTAL_LABEL = "合计 total"


def _yuan(fen):
    return None if fen is None else fen_to_yuan(fen)


def scope_of(user, selection: Selection) -> tuple[set[str] | None, str]:
    """(supporter codes the export is limited to — None: everything, description) or 401/403."""
    if user is None:
        raise Unauthorized()
    if user.is_platform_admin:
        return None, "全部 everything (platform operator)"
    regions = offices.regions_of(user)
    if not regions:
        raise Forbidden("Exports are for operators and supporter offices.", code=codes.EXPORT_FORBIDDEN)
    within = supporter_scope(regions, selection.supporter)
    if within is None:
        raise Forbidden("That supporter is outside your office's region.", code=codes.OUTSIDE_OFFICE_REGION)
    return within, "结对支援方 pairs of " + ", ".join(regions)


def _summary_rows(stats: dict) -> list[list]:
    rows = [[item["key"], item["label"], item["amount_fen"], _yuan(item["amount_fen"]), item["quantity"],
             item["via_pairs_fen"], _yuan(item["via_pairs_fen"]), item["buyers"]] for item in stats["items"]]
    total = stats["total"]
    rows.append([None, TOTAL_LABEL, total["amount_fen"], _yuan(total["amount_fen"]), total["quantity"],
                 None, None, None])
    return rows


def _detail_rows(rows: list[dict]) -> list[list]:
    return [[row["key"], row["label"], BUYER_KIND_LABELS.get(row["buyer_kind"], row["buyer_kind"]),
             row["product_id"], row["product"], row["amount_fen"], _yuan(row["amount_fen"]), row["quantity"]]
            for row in rows]


def _about_rows(selection: Selection, scope: str) -> list[list]:
    rows = [["期间 period", f"{selection.start.isoformat()} – {selection.end.isoformat()} (Asia/Shanghai)"],
            ["分组 group_by", selection.group_by], ["范围 scope", scope]]
    for field in dataclasses.fields(selection):
        value = getattr(selection, field.name)
        if field.name not in ("group_by", "start", "end") and value is not None:
            rows.append([f"筛选 {field.name}", str(value)])
    return rows


def export(*, user, selection: Selection, format: str) -> tuple[bytes, str, str]:
    """(file bytes, mimetype, download name)."""
    within, scope = scope_of(user, selection)
    rows = detail(selection, within=within)
    name = f"assistance-{selection.group_by}-{selection.start.isoformat()}-{selection.end.isoformat()}.{format}"
    if format == "csv":
        return csv_file(DETAIL_HEADERS, _detail_rows(rows)), CSV_MIMETYPE, name
    stats = statistics(selection, raw=True, within=within, exact_buyers=True)
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"消费帮扶统计 {selection.start} – {selection.end}"
    for title, headers, sheet_rows in (("summary", SUMMARY_HEADERS, _summary_rows(stats)),
                                       ("detail", DETAIL_HEADERS, _detail_rows(rows)),
                                       ("about", ["项目 item", "值 value"], _about_rows(selection, scope))):
        sheet = Sheet(workbook, title, headers)
        for row in sheet_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), XLSX_MIMETYPE, name
