"""Reading a catalog sheet (the format: shop.catalog.importer): the file (.xlsx or CSV), its header and its
cells, parsed to Python values. No database: checking the rows and writing them is shop.catalog.importer."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

from shop.catalog.schemas import ProductCreateSchema, SkuCreateSchema
from shop.errors import ShopError, ValidationFailed

MAX_ROWS = 5_000  # data rows, header excluded
MAX_COLUMNS = 64
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # an .xlsx is a zip: refuse archives that unpack to more than this

PRODUCT_COLUMNS = ("product_ref", "name", "subtitle", "description", "category", "origin_district_code",
                   "product_type", "sc_license_number", "food_filing_number", "gi_scheme", "gi_number",
                   "gi_protected_area", "shelf_life_days", "storage", "cold_chain", "sale_months", "return_policy",
                   "images")
SKU_COLUMNS = ("spec", "unit", "weight_g", "price_fen", "stock", "min_order_qty", "qty_step", "barcode",
               "price_tiers")
COLUMNS = PRODUCT_COLUMNS + SKU_COLUMNS
FIELD_COLUMNS = {"category_id": "category"}  # schema/service field → column, where the names differ
COLUMN_FIELDS = {column: field_name for field_name, column in FIELD_COLUMNS.items()}

# A column is required when the create schemas require its field (and product_ref, which groups the rows).
REQUIRED_COLUMNS = ("product_ref",) + tuple(
    FIELD_COLUMNS.get(name, name) for name, f in ProductCreateSchema().fields.items()
    if f.required and name != "supplier_id") + tuple(
    name for name, f in SkuCreateSchema().fields.items() if f.required)

ALIASES = {
    "product_ref": ("商品编码", "商品编号", "产品编码", "货号", "商家编码"),
    "name": ("商品名称", "名称", "品名"),
    "subtitle": ("副标题",),
    "description": ("商品描述", "描述", "详情"),
    "category": ("类目", "分类", "商品分类"),
    "origin_district_code": ("产地代码", "产地区县代码", "产地行政区划代码"),
    "product_type": ("商品类型",),
    "sc_license_number": ("SC编号", "食品生产许可证编号", "生产许可证编号"),
    "food_filing_number": ("备案号", "食品备案号"),
    "gi_scheme": ("地理标志类型",),
    "gi_number": ("地理标志编号",),
    "gi_protected_area": ("地理标志保护范围",),
    "shelf_life_days": ("保质期(天)", "保质期天数", "保质期"),
    "storage": ("储存条件", "贮存条件"),
    "cold_chain": ("冷链", "冷链配送"),
    "sale_months": ("销售月份", "上市月份"),
    "return_policy": ("退货政策",),
    "images": ("图片", "商品图片"),
    "spec": ("规格",),
    "unit": ("单位",),
    "weight_g": ("重量(克)", "重量(g)", "重量"),
    "price_fen": ("价格(分)", "单价(分)"),
    "stock": ("库存",),
    "min_order_qty": ("起订量", "最小起订量"),
    "qty_step": ("购买倍数", "箱规"),
    "barcode": ("条码", "商品条码"),
    "price_tiers": ("阶梯价", "阶梯价格"),
}


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).strip("*").lower()


HEADERS = {_header_key(c): c for c in COLUMNS} | {
    _header_key(alias): column for column, aliases in ALIASES.items() for alias in aliases}


class InvalidSpreadsheet(ValidationFailed):
    code = "invalid_spreadsheet"
    title = "Not a readable spreadsheet"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"file": [detail]})


class CellError(Exception):
    """A cell that cannot be read as its column's type; the message is reported as is."""


# --- reading the file ---------------------------------------------------------------------------------------


@dataclass
class Sheet:
    columns: list[str | None]  # canonical column name per position; None: ignored (blank or unknown header)
    rows: list[tuple[int, dict]]  # (spreadsheet row number, {column: raw cell}) of non-blank data rows
    header_errors: list[dict]
    missing_columns: list[str]


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _xlsx_rows(data: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise InvalidSpreadsheet("The .xlsx file unpacks to too much data.")
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidSpreadsheet:
        raise
    except Exception:  # zipfile, XML and openpyxl errors alike: a damaged or foreign file
        raise InvalidSpreadsheet("Not a readable .xlsx file.")
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
    finally:
        workbook.close()


def _csv_rows(data: bytes):
    if b"\x00" in data:  # images, archives and other binary files; no text encoding we read has NUL bytes
        raise InvalidSpreadsheet("Not a spreadsheet: upload an .xlsx file or a CSV file (UTF-8).")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel's "CSV UTF-8" (with BOM), plain UTF-8, or Excel's GBK CSV
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidSpreadsheet("Not a CSV file in UTF-8.")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield tuple(row[:MAX_COLUMNS])


def read_sheet(data: bytes, filename: str = "") -> Sheet:
    """The rows of the first worksheet of an .xlsx, or of a CSV file; InvalidSpreadsheet (422) for anything
    else, ValidationFailed too_many_rows above MAX_ROWS data rows."""
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidSpreadsheet("An old Excel .xls file: save it as .xlsx (or CSV UTF-8) and upload that.")
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise InvalidSpreadsheet("Not a readable .xlsx file.")
    else:
        rows = _csv_rows(data)
    try:
        return _read_rows(rows)
    except (ShopError, CellError):
        raise
    except Exception:  # a damaged worksheet found while reading it, a malformed CSV
        raise InvalidSpreadsheet("The spreadsheet could not be read.")


def _read_rows(rows) -> Sheet:
    header = next(iter(rows), None)
    if header is None or all(blank(cell) for cell in header):
        raise InvalidSpreadsheet("Row 1 must hold the column names; it is empty.")
    columns: list[str | None] = []
    header_errors: list[dict] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header):
        if blank(cell):
            columns.append(None)
            continue
        text = str(cell).strip()
        column = HEADERS.get(_header_key(text))
        if column is None:
            header_errors.append({"row": 1, "column": text,
                                  "message": f"Unknown column. The columns are: {', '.join(COLUMNS)}."})
        elif column in seen:
            header_errors.append({"row": 1, "column": text,
                                  "message": f"Duplicate column: {column} is also column {seen[column] + 1}."})
            column = None
        else:
            seen[column] = position
        columns.append(column)
    if not seen:
        raise InvalidSpreadsheet(f"No known column in row 1: is this a catalog sheet? The columns are: "
                                 f"{', '.join(COLUMNS)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    header_errors += [{"row": 1, "column": c, "message": "Required column missing."} for c in missing]
    data_rows = []
    for number, cells in enumerate(rows, start=2):
        if all(blank(cell) for cell in cells):
            continue
        if len(data_rows) == MAX_ROWS:
            raise ValidationFailed(f"At most {MAX_ROWS} rows per import: split the file.", code="too_many_rows",
                                   errors={"file": [f"More than {MAX_ROWS} rows."]})
        data_rows.append((number, {column: cell for column, cell in zip(columns, cells) if column}))
    return Sheet(columns=columns, rows=data_rows, header_errors=header_errors, missing_columns=missing)


# --- cells --------------------------------------------------------------------------------------------------

MONEY_COLUMNS = {"price_fen", "price_tiers"}
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")


def _text(value, column: str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number (500237, a barcode)
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        raise CellError("Excel turned this cell into a date: format the column as text and type it again.")
    return str(value).strip()


def _int(value, column: str) -> int:
    if isinstance(value, bool):
        raise CellError("A whole number, not true/false.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        shown = f"{value:g}"
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if not _DECIMAL.fullmatch(text):
            raise CellError(f"Not a whole number: {text!r}.")
        shown = text
    if column in MONEY_COLUMNS:
        raise CellError(f"Prices are whole fen (分), not yuan: {shown} is not accepted and not converted "
                        f"(¥59.90 is written 5990).")
    raise CellError(f"A whole number is expected, not {shown}.")


_TRUE = {"true", "yes", "y", "1", "是", "需要", "冷链"}
_FALSE = {"false", "no", "n", "0", "否", "不需要"}


def _bool(value, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("true or false (是 or 否).")


_MONTH_SEPARATORS = re.compile(r"[,、;\s]+")
_MONTH_RANGE = re.compile(r"(\d{1,2})月?\s*(?:-|~|至|到|–|—)\s*(\d{1,2})月?")
_MONTH = re.compile(r"(\d{1,2})月?")


def _months(value, column: str) -> list[int]:
    if isinstance(value, (dt.datetime, dt.date)):
        raise CellError("Excel turned this into a date: format the column as text and type the months again "
                        "(e.g. 6-8).")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [_int(value, column)]
    months: list[int] = []
    text = re.sub(r"\s*(-|~|至|到|–|—)\s*", r"\1", unicodedata.normalize("NFKC", str(value)).strip())  # "6 - 8"
    for piece in _MONTH_SEPARATORS.split(text):
        if not piece:
            continue
        if match := _MONTH_RANGE.fullmatch(piece):
            first, last = int(match[1]), int(match[2])
            if not (1 <= first <= 12 and 1 <= last <= 12):
                raise CellError(f"Months are 1 to 12: {piece}.")
            span = (last - first) % 12  # "11-2" runs over the new year
            months += [(first - 1 + i) % 12 + 1 for i in range(span + 1)]
        elif match := _MONTH.fullmatch(piece):
            months.append(int(match[1]))  # the schema checks the range
        else:
            raise CellError(f'Months like "6,7,8" or "6-8", not {piece!r}.')
    return months


def _images(value, column: str) -> list[str]:
    return [url for url in re.split(r"[\s|]+", str(value).strip()) if url]


def _tiers(value, column: str) -> list[dict]:
    tiers = []
    for i, piece in enumerate(p for p in re.split(r"[;\n]+", unicodedata.normalize("NFKC", str(value))) if p.strip()):
        min_qty, sep, price = piece.partition(":")
        if not sep:
            raise CellError(f'Tier {i + 1}: write min_qty:price_fen, tiers separated by ";" '
                            f'(e.g. 100:5000;500:4800), not {piece.strip()!r}.')
        try:
            tiers.append({"min_qty": _int(min_qty, "min_order_qty"), "price_fen": _int(price, column)})
        except CellError as error:
            raise CellError(f"Tier {i + 1}: {error}")
    return tiers


PARSERS = {column: _text for column in COLUMNS} | {
    "shelf_life_days": _int, "weight_g": _int, "price_fen": _int, "stock": _int, "min_order_qty": _int,
    "qty_step": _int, "cold_chain": _bool, "sale_months": _months, "images": _images, "price_tiers": _tiers}
