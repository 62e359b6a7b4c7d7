"""What every .xlsx export shares: a write-only sheet whose strings are string cells (never formulas, so opening
the file runs nothing), and the download response."""
from __future__ import annotations

import csv
import datetime as dt
import io

from flask import send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

YUAN_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"


class Sheet:
    """A write-only sheet: strings are string cells (never formulas), 元 columns (headers ending in "(元 yuan)")
    show two decimals, dates as dates."""

    def __init__(self, workbook: Workbook, title: str, headers: list[str]) -> None:
        self.sheet = workbook.create_sheet(title)
        self.yuan = {i for i, header in enumerate(headers) if header.endswith("(元 yuan)")}
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        self.append(headers, font=bold)

    def append(self, values: list, *, font=None) -> None:
        cells = []
        for i, value in enumerate(values):
            cell = WriteOnlyCell(self.sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            elif isinstance(value, dt.date):
                cell.number_format = DATE_FORMAT
            if i in self.yuan:
                cell.number_format = YUAN_FORMAT
            if font:
                cell.font = font
            cells.append(cell)
        self.sheet.append(cells)


def download(data: bytes, mimetype: str, name: str):
    """An attachment that no shared cache keeps (exports carry private figures)."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"
# What a spreadsheet reads as the start of a formula (and tab/CR, which some strip before looking).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value) -> str:
    """A CSV cell that opening the file never runs: text that would read as a formula gets a leading
    apostrophe; numbers stay numbers."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text


def csv_file(headers: list[str], rows) -> bytes:
    """Rows as CSV, UTF-8 with a byte-order mark (Excel reads the Chinese right only with it), CRLF lines, every
    cell through `csv_text`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
