"""Bulk catalog import (CSV, .xlsx) and export: the dry-run report, all-or-nothing real runs, the CLI, and the
story of a new cooperative that imports its catalog and is found by shoppers."""
from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from shop.catalog.exporter import XLSX_MIMETYPE
from shop.catalog.importer import COLUMNS, MAX_ERRORS
from shop.catalog.models import GiRecord, Product, Sku, StockMovement
from shop.extensions import db
from shop.suppliers.models import SupplierMember
from tests.catalog.factories import make_product
from tests.support import PASSWORD, make_user, unique_email, assert_problem
from tests.suppliers.factories import make_supplier, recommend, supplier_fields

API = "/api/v1"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


# --- building files -----------------------------------------------------------------------------------------


def row(ref: str = "CL-001", **overrides) -> dict:
    """A valid SKU row of a valid product (巫山脆李, raw produce)."""
    values = {"product_ref": ref, "name": "巫山脆李", "subtitle": "高山脆李 现摘现发", "description": "曲尺乡果园直供",
              "category": "plums", "origin_district_code": "500237", "product_type": "raw_produce",
              "shelf_life_days": 7, "storage": "冷藏 0-4℃", "cold_chain": "是", "sale_months": "6-8",
              "return_policy": "excluded_fresh",
              "images": "https://img.example.test/cuili-1.jpg | https://img.example.test/cuili-2.jpg",
              "spec": "5斤装 特级果", "unit": "箱", "weight_g": 2500, "price_fen": 5990, "stock": 100,
              "min_order_qty": 1, "qty_step": 1}
    values.update(overrides)
    return values


def catalog_rows(products: int, skus_per_product: int = 2, *, prefix: str = "CL", name=None) -> list[dict]:
    rows = []
    for p in range(products):
        for s in range(skus_per_product):
            rows.append(row(f"{prefix}-{p:03d}", name=name(p) if name else f"巫山脆李 {p}号",
                            spec=f"{s + 1}箱装", price_fen=5990 + 100 * s + p, stock=10 * (p + 1) + s))
    return rows


def xlsx_bytes(rows: list[dict], header=COLUMNS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for values in rows:
        sheet.append([values.get(column) for column in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict], header=COLUMNS, *, bom: bool = False) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for values in rows:
        writer.writerow(["" if values.get(c) is None else values.get(c) for c in header])
    return (b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode("utf-8")


def read_xlsx(data: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


# --- fixtures and helpers -----------------------------------------------------------------------------------


@pytest.fixture
def supplier(owner):
    return make_supplier(owner, name="三峡果业合作社")


def upload(client, supplier_id: int, data: bytes, filename: str = "catalog.xlsx", **query):
    params = "&".join(f"{k}={str(v).lower()}" for k, v in query.items())
    return client.post(f"{API}/suppliers/{supplier_id}/catalog/import" + (f"?{params}" if params else ""),
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def report(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def cells(errors) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in errors]


# --- the dry run --------------------------------------------------------------------------------------------


def test_dry_run_reports_exactly_the_bad_row_among_500(member, supplier):
    rows = catalog_rows(250)
    rows[317]["price_fen"] = 59.9  # yuan typed into a fen column: spreadsheet row 319 (header is row 1)
    body = report(upload(member, supplier.id, xlsx_bytes(rows)))
    assert body["dry_run"] is True and body["imported_product_ids"] == []
    assert (body["rows"], body["products"], body["skus"], body["error_count"]) == (500, 250, 500, 1)
    [error] = body["errors"]
    assert (error["row"], error["column"]) == (319, "price_fen")
    assert "fen" in error["message"] and "59.9" in error["message"]
    assert count(Product) == 0


def test_dry_run_reports_every_kind_of_bad_row(member, supplier):
    rows = [
        row("A", price_fen="59.9"),  # 2: fractional price (text), not converted from yuan
        row("B", min_order_qty=5, qty_step=2),  # 3: MOQ not a multiple of the case size
        row("C", gi_scheme="agricultural_gi"),  # 4: a GI record without number and protected area
        row("D", category="durian"),  # 5: unknown category slug
        row("E", product_type="seller_processed", sc_license_number="SC123"),  # 6: malformed SC number
        row("F"),  # 7: fine ...
        row("F", name="奉节脐橙", spec="10斤装"),  # 8: ... but this row of the same product differs
        row("G", product_type="prepackaged"),  # 9: a prepackaged food without its filing number
        row("H", origin_district_code="110101"),  # 10: Beijing is not a reservoir-area district
        row("I", price_tiers="100:5000;500:5200"),  # 11: a volume price that rises
        row("J", images="not-a-url"),  # 12
        row("K", cold_chain="maybe", sale_months="13"),  # 13: two bad cells in one row
        row("L", barcode="12AB"),  # 14
        row("M", sale_months=dt.datetime(2024, 8, 6)),  # 15: Excel made "6-8" a date
        row(None),  # 16: no product_ref
        row("N", stock=-1, weight_g=None),  # 17: negative stock, missing weight
        row("O", price_tiers="100-5000"),  # 18: unreadable tiers
        row("P"),  # 19: fine
    ]
    body = report(upload(member, supplier.id, xlsx_bytes(rows)))
    assert cells(body["errors"]) == [
        (2, "price_fen"), (3, "min_order_qty"), (4, "gi_number"), (4, "gi_protected_area"), (5, "category"),
        (6, "sc_license_number"), (8, "name"), (9, "food_filing_number"), (10, "origin_district_code"),
        (11, "price_tiers"), (12, "images"), (13, "cold_chain"), (13, "sale_months"), (14, "barcode"),
        (15, "sale_months"), (16, "product_ref"), (17, "weight_g"), (17, "stock"), (18, "price_tiers")]
    messages = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "Differs from row 7" in messages[(8, "name")]
    assert "multiple of qty_step" in messages[(3, "min_order_qty")]
    assert "reservoir" in messages[(10, "origin_district_code")]
    assert messages[(11, "price_tiers")].startswith("tier 2")
    assert "date" in messages[(15, "sale_months")]
    assert (body["rows"], body["products"], body["skus"]) == (18, 16, 17)
    assert count(Product) == 0


def test_blank_product_cells_on_later_rows_repeat_the_first_row(member, supplier):
    """Merged cells read as blanks below the first row: the same product, not an inconsistency."""
    first = row("M1")
    later = {"product_ref": "M1", "spec": "10斤装", "weight_g": 5000, "price_fen": 10990, "stock": 5}
    body = report(upload(member, supplier.id, xlsx_bytes([first, later]), dry_run=False))
    [product_id] = body["imported_product_ids"]
    assert count(Sku, Sku.product_id == product_id) == 2


def test_headers_unknown_missing_and_chinese(member, supplier):
    header = ["商品编码", "商品名称", "类目", "产地代码", "商品类型", "退货政策", "规格", "重量(克)", "价格（分）",
              "库存", "colour"]
    rows = [["X1", "巫山脆李", "plums", "500237", "raw_produce", "excluded_fresh", "5斤装", 2500, 5990, 3, "红"]]
    workbook = openpyxl.Workbook()
    for values in [header, *rows]:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    body = report(upload(member, supplier.id, buffer.getvalue()))
    assert cells(body["errors"]) == [(1, "colour")]  # the Chinese headers are the canonical columns

    body = report(upload(member, supplier.id, xlsx_bytes([row()], header=[c for c in COLUMNS if c != "price_fen"])))
    assert [(e["row"], e["column"], e["message"]) for e in body["errors"]] == [
        (1, "price_fen", "Required column missing.")]


def test_the_report_lists_at_most_the_first_thousand_errors(member, supplier):
    rows = [row(f"R{i}", price_fen="1.5") for i in range(MAX_ERRORS + 200)]
    body = report(upload(member, supplier.id, csv_bytes(rows), filename="big.csv"))
    assert body["error_count"] == MAX_ERRORS + 200
    assert len(body["errors"]) == MAX_ERRORS
    assert body["errors"][0]["row"] == 2 and body["errors"][-1]["row"] == MAX_ERRORS + 1


def test_more_than_5000_rows_is_refused(member, supplier):
    data = csv_bytes([row(f"R{i // 5}", spec=f"{i}") for i in range(5001)])
    assert_problem(upload(member, supplier.id, data, filename="huge.csv"), 422, "too_many_rows")


# --- the real run -------------------------------------------------------------------------------------------


def test_a_real_run_with_one_bad_row_among_500_imports_nothing(member, supplier):
    make_product(supplier)  # something already there, which must stay as it is
    before = (count(Product), count(Sku), count(StockMovement))
    rows = catalog_rows(250)
    rows[401]["qty_step"] = 0
    body = assert_problem(upload(member, supplier.id, xlsx_bytes(rows), dry_run=False), 422, "import_rejected")
    assert cells(body["errors"]["rows"]) == [(403, "qty_step")]
    assert body["errors"]["error_count"] == 1
    assert (count(Product), count(Sku), count(StockMovement)) == before


def test_a_clean_file_imports_50_products_with_their_skus(member, supplier, owner):
    rows = catalog_rows(50)
    rows[0]["price_tiers"] = "100:5000;500:4800"
    data = xlsx_bytes(rows)
    assert report(upload(member, supplier.id, data))["errors"] == []  # the dry run is the default
    assert count(Product) == 0

    body = report(upload(member, supplier.id, data, dry_run=False))
    assert body["dry_run"] is False and body["errors"] == []
    assert (body["rows"], body["products"], body["skus"]) == (100, 50, 100)
    assert len(body["imported_product_ids"]) == 50
    products = {p.external_ref: p
                for p in db.session.scalars(select(Product).where(Product.supplier_id == supplier.id))}
    assert sorted(products) == [f"CL-{p:03d}" for p in range(50)]
    assert {p.status for p in products.values()} == {"draft"}  # publishing stays an explicit step
    first = products["CL-000"]
    assert first.name == "巫山脆李 0号" and first.sale_months == [6, 7, 8] and first.cold_chain is True
    assert first.images == ["https://img.example.test/cuili-1.jpg", "https://img.example.test/cuili-2.jpg"]
    assert first.min_price_fen == 5990 and "cuili" in first.search_name
    skus = list(db.session.scalars(select(Sku).where(Sku.product_id == first.id).order_by(Sku.id)))
    assert [(s.spec, s.price_fen, s.stock, s.unit) for s in skus] == [("1箱装", 5990, 10, "箱"),
                                                                       ("2箱装", 6090, 11, "箱")]
    assert skus[0].price_tiers == [{"min_qty": 100, "price_fen": 5000}, {"min_qty": 500, "price_fen": 4800}]
    assert count(Sku) == 100
    # Opening stock has its history rows like any other stock change.
    assert count(StockMovement, StockMovement.sku_id == skus[0].id, StockMovement.actor_id == owner.id) == 1


@pytest.mark.parametrize("bom", [True, False], ids=["utf8-bom", "utf8"])
def test_csv_in_utf8_with_or_without_bom(member, supplier, bom):
    rows = catalog_rows(3, name=lambda p: f"忠县柑橘 {p}号")
    for values in rows:
        values["category"] = "柑橘"  # a category's name works too
    body = report(upload(member, supplier.id, csv_bytes(rows, bom=bom), filename="catalog.csv", dry_run=False))
    assert body["errors"] == [] and len(body["imported_product_ids"]) == 3
    names = set(db.session.scalars(select(Product.name)))
    assert names == {"忠县柑橘 0号", "忠县柑橘 1号", "忠县柑橘 2号"}


def test_a_product_ref_imported_before_is_rejected(member, supplier):
    data = xlsx_bytes(catalog_rows(2))
    assert len(report(upload(member, supplier.id, data, dry_run=False))["imported_product_ids"]) == 2
    body = report(upload(member, supplier.id, data))
    assert cells(body["errors"]) == [(2, "product_ref"), (4, "product_ref")]
    assert "already exists" in body["errors"][0]["message"]
    assert_problem(upload(member, supplier.id, data, dry_run=False), 422, "import_rejected")
    assert count(Product) == 2


def test_a_failure_while_writing_leaves_nothing_behind(member, supplier, monkeypatch):
    """A concurrent import took a product_ref between the check and the write: the unique constraint stops the
    second product, and the first one, already flushed, is rolled back with it."""
    from shop.catalog import importer

    make_product(supplier, external_ref="CL-001")
    before = (count(Product), count(Sku), count(StockMovement))
    monkeypatch.setattr(importer, "existing_refs", lambda supplier_id: {})  # as if checked before it existed
    body = assert_problem(upload(member, supplier.id, xlsx_bytes(catalog_rows(3)), dry_run=False), 409,
                          "duplicate_product_ref")
    assert "nothing was imported" in body["detail"]
    assert (count(Product), count(Sku), count(StockMovement)) == before


def test_publish_needs_an_approved_supplier_and_publishes_everything(api_as):
    pending_owner = make_user()
    pending = make_supplier(pending_owner, status="pending", name="待审合作社")
    client = api_as(pending_owner)
    data = xlsx_bytes(catalog_rows(2))
    assert_problem(upload(client, pending.id, data, dry_run=False, publish=True), 409, "supplier_not_approved")
    assert count(Product) == 0
    drafts = report(upload(client, pending.id, data, dry_run=False))["imported_product_ids"]
    assert len(drafts) == 2

    approved_owner = make_user()
    approved = make_supplier(approved_owner, name="已审合作社")
    ids = report(upload(api_as(approved_owner), approved.id, data, dry_run=False, publish=True))["imported_product_ids"]
    published = list(db.session.scalars(select(Product).where(Product.id.in_(ids))))
    assert {p.status for p in published} == {"active"} and all(p.published_at for p in published)


# --- what is not a spreadsheet, who may import --------------------------------------------------------------


@pytest.mark.parametrize("data, filename", [
    (PNG, "catalog.png"),
    (PNG, "catalog.xlsx"),
    (b"\x13\x37 garbage \xff\xfe bytes" * 50, "catalog.xlsx"),
    (b"PK\x03\x04 not really a zip", "catalog.xlsx"),
    (b"hello,world\n1,2\n", "catalog.csv"),  # text, but no catalog column
], ids=["png", "png-named-xlsx", "garbage-named-xlsx", "broken-zip", "foreign-csv"])
def test_a_file_that_is_not_a_catalog_spreadsheet_is_422(member, supplier, data, filename):
    body = assert_problem(upload(member, supplier.id, data, filename=filename), 422, "invalid_spreadsheet")
    assert body["errors"]["file"]


def test_a_zip_that_is_not_a_workbook_is_422(member, supplier):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert_problem(upload(member, supplier.id, buffer.getvalue()), 422, "invalid_spreadsheet")


def test_only_members_import_and_export(app, api_as, client, supplier):
    rival_owner = make_user()
    rival = make_supplier(rival_owner, name="奉节脐橙合作社", district_code="500236")
    staff = make_user()
    db.session.add(SupplierMember(supplier_id=rival.id, user_id=staff.id, role="staff"))
    db.session.commit()
    data = xlsx_bytes(catalog_rows(1))
    outsider = api_as(staff)
    assert_problem(upload(outsider, supplier.id, data, dry_run=False), 404, "not_found")
    assert_problem(outsider.get(f"{API}/suppliers/{supplier.id}/catalog/export"), 404, "not_found")
    assert_problem(upload(outsider, 999_999, data), 404, "not_found")
    assert_problem(upload(client, supplier.id, data), 401, "unauthorized")
    assert_problem(client.get(f"{API}/suppliers/{supplier.id}/catalog/export"), 401, "unauthorized")
    assert count(Product) == 0
    # Staff (not only owners) of their own supplier may import.
    assert report(upload(outsider, rival.id, data))["errors"] == []


def test_the_file_field_is_required(member, supplier):
    response = member.post(f"{API}/suppliers/{supplier.id}/catalog/import", data={},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json(force=True)["errors"]


# --- export -------------------------------------------------------------------------------------------------


def test_export_then_import_into_another_supplier_round_trips(member, supplier, api_as):
    rows = catalog_rows(3)
    rows[0].update(price_tiers="100:5000;500:4800", barcode="06901234567892")
    for values in rows[:2]:
        values["sale_months"] = "11-2"
    # Only the first row of CL-001 has the GI record: blank cells below it repeat it.
    rows[2].update(gi_scheme="agricultural_gi", gi_number="AGI00123", gi_protected_area="巫山县全境")
    report(upload(member, supplier.id, xlsx_bytes(rows), dry_run=False))
    handmade = make_product(supplier, name="巫溪洋芋", status="active", category="vegetables",
                            skus=[{"spec": "10斤", "unit": "袋", "weight_g": 5000, "price_fen": 3990, "stock": 7}])
    make_product(supplier, name="下架商品", status="archived")

    response = member.get(f"{API}/suppliers/{supplier.id}/catalog/export")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIMETYPE
    assert "attachment" in response.headers["Content-Disposition"]
    exported = read_xlsx(response.data)
    assert len(exported) == 7 and f"P{handmade.id}" in {r["product_ref"] for r in exported}
    assert "下架商品" not in {r["name"] for r in exported}
    assert exported[0]["sale_months"] == "1-2,11-12" and exported[0]["barcode"] == "06901234567892"

    other_owner = make_user()
    other = make_supplier(other_owner, name="巫山果业公司")
    other_client = api_as(other_owner)
    body = report(upload(other_client, other.id, response.data, filename="export.xlsx", dry_run=False))
    assert body["errors"] == [] and (body["products"], body["skus"]) == (4, 7)

    def catalog(supplier_id):
        products = db.session.scalars(select(Product).where(Product.supplier_id == supplier_id)
                                      .where(Product.status != "archived").order_by(Product.id))
        result = []
        for p in products:
            skus = db.session.scalars(select(Sku).where(Sku.product_id == p.id).order_by(Sku.id))
            gi = [(r.scheme, r.number, r.protected_area) for r in
                  db.session.scalars(select(GiRecord).where(GiRecord.product_id == p.id))]
            result.append((p.name, p.category_id, p.origin_district_code, p.sale_months_mask, gi,
                           p.cold_chain, p.images,
                           [(s.spec, s.unit, s.price_fen, s.stock, s.price_tiers, s.barcode) for s in skus]))
        return result

    db.session.expire_all()
    assert catalog(other.id) == catalog(supplier.id)
    # Re-importing the export into the same supplier duplicates nothing: every product_ref already exists.
    again = report(upload(member, supplier.id, response.data))
    assert {e["column"] for e in again["errors"]} == {"product_ref"} and again["error_count"] == 4


# --- the command line ---------------------------------------------------------------------------------------


def invoke(app, *args):
    """Run a `flask shop` command in its own application context, as a separate process would."""
    db.session.commit()
    runner = app.test_cli_runner()
    return contextvars.Context().run(runner.invoke, args=["shop", *args])


def test_cli_imports_with_a_progress_bar_and_exports(app, supplier, tmp_path):
    bad = catalog_rows(5)
    bad[3]["price_fen"] = "12.5"
    bad_file = tmp_path / "bad.xlsx"
    bad_file.write_bytes(xlsx_bytes(bad))
    result = invoke(app, "import-catalog", str(bad_file), "--supplier", str(supplier.id))
    assert result.exit_code == 1, result.output
    assert "row 5\tprice_fen" in result.output and "rejected" in result.output
    assert count(Product) == 0

    good_file = tmp_path / "good.xlsx"
    good_file.write_bytes(xlsx_bytes(catalog_rows(5)))
    result = invoke(app, "import-catalog", str(good_file), "--supplier", str(supplier.id), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "10 rows, 5 products, 10 SKUs" in result.output and "Checking rows" in result.output
    assert count(Product) == 0

    result = invoke(app, "import-catalog", str(good_file), "--supplier", str(supplier.id), "--publish")
    assert result.exit_code == 0, result.output
    assert "imported 5 products (published)" in result.output
    assert count(Product, Product.status == "active") == 5

    out = tmp_path / "out.xlsx"
    result = invoke(app, "export-catalog", "--supplier", str(supplier.id), str(out))
    assert result.exit_code == 0, result.output
    assert sorted(r["product_ref"] for r in read_xlsx(out.read_bytes())) == sorted(
        r["product_ref"] for r in catalog_rows(5))

    result = invoke(app, "import-catalog", str(good_file), "--supplier", "999999")
    assert result.exit_code == 1 and "no such supplier" in result.output


# --- done when ----------------------------------------------------------------------------------------------


def test_a_new_cooperative_imports_its_catalog_and_shoppers_find_it(app, make_client):
    """Registers, is approved, imports 50 products from an .xlsx with publish=true; an anonymous shopper finds
    them by Chinese, full pinyin and initials."""
    email = unique_email("coop")
    owner = make_client()
    assert owner.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD,
                                                     "display_name": "合作社理事长"}).status_code == 201
    owner.login(email)
    response = owner.post(f"{API}/suppliers", json=supplier_fields(name="三峡果业专业合作社"))
    assert response.status_code == 201, response.json
    supplier_id = response.json["id"]

    recommend(supplier_id)
    admin = make_client()
    admin.login(make_user(admin=True).email)
    response = admin.post(f"{API}/suppliers/{supplier_id}/review", json={"action": "approve", "reason": "材料齐全"})
    assert response.status_code == 200 and response.json["status"] == "approved"

    def name(p):
        return f"巫山脆李 {p}号" if p % 2 == 0 else f"奉节脐橙 {p}号"

    rows = catalog_rows(50, 1, name=name)
    for p, values in enumerate(rows):
        if p % 2:
            values.update(category="citrus", origin_district_code="500236", sale_months="11-2", subtitle="果大皮薄")
    response = upload(owner, supplier_id, xlsx_bytes(rows), dry_run=False, publish=True)
    body = report(response)
    assert body["errors"] == [] and len(body["imported_product_ids"]) == 50
    plums = {i for p, i in enumerate(body["imported_product_ids"]) if p % 2 == 0}
    oranges = set(body["imported_product_ids"]) - plums

    shopper = make_client()

    def found(q):
        response = shopper.get(f"{API}/products", query_string={"q": q, "limit": 100})
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert found("脆李") == plums
    assert found("cuili") == plums
    assert found("wscl") == plums  # 巫山脆李
    assert found("fjqc") == oranges  # 奉节脐橙
    assert found("qicheng") == oranges
