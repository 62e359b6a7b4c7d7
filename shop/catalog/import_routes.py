"""Catalog import (CSV, .xlsx) and export (.xlsx) for members of a supplier. The format: shop.catalog.importer."""
import io

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from shop.accounts.auth import authenticated_user
from shop.catalog import exporter, importer

blp = Blueprint("catalog_import", __name__, url_prefix="/api/v1",
                description="Bulk catalog import from CSV or .xlsx (dry run first), and export to .xlsx")


class CatalogImportArgsSchema(Schema):
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "Check only (the default): report every bad row, write nothing."})
    publish = fields.Boolean(load_default=False, metadata={
        "description": "Publish the imported products (the supplier must be approved); drafts otherwise."})


class CatalogImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": f".xlsx (first sheet) or CSV (UTF-8), header in row 1, "
                                                          f"one row per SKU, at most {importer.MAX_ROWS} rows."})


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "Spreadsheet row number (the header is row 1)."})
    column = fields.String()
    message = fields.String()


class CatalogImportReportSchema(Schema):
    dry_run = fields.Boolean()
    publish = fields.Boolean()
    rows = fields.Integer(metadata={"description": "Data rows read (blank rows skipped)."})
    products = fields.Integer(metadata={"description": "Distinct product_ref values."})
    skus = fields.Integer()
    error_count = fields.Integer(metadata={"description": "All problems found; `errors` lists the first "
                                                          f"{importer.MAX_ERRORS}."})
    errors = fields.List(fields.Nested(ImportErrorSchema))
    imported_product_ids = fields.List(fields.Integer())


@blp.route("/suppliers/<int:supplier_id>/catalog/import")
class CatalogImport(MethodView):
    @blp.arguments(CatalogImportArgsSchema, location="query")
    @blp.arguments(CatalogImportFileSchema, location="files")
    @blp.response(200, CatalogImportReportSchema)
    @blp.alt_response(422, description="invalid_spreadsheet, too_many_rows, or (real run) import_rejected with "
                                       "the report in errors.rows: nothing was imported.")
    @blp.alt_response(409, description="supplier_not_approved (publish=true), duplicate_product_ref.")
    def post(self, args, files, supplier_id):
        """Import products and SKUs, all or nothing. The dry run (default) answers 200 listing every bad row."""
        upload = files["file"]
        return importer.import_catalog(user=authenticated_user(), supplier_id=supplier_id, data=upload.read(),
                                       filename=upload.filename or "", **args)


@blp.route("/suppliers/<int:supplier_id>/catalog/export")
class CatalogExport(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=exporter.XLSX_MIMETYPE,
                  description="The supplier's draft and active products, one row per SKU, in the import format.")
    def get(self, supplier_id):
        data = exporter.export_catalog(user=authenticated_user(), supplier_id=supplier_id)
        response = send_file(io.BytesIO(data), mimetype=exporter.XLSX_MIMETYPE, as_attachment=True,
                             download_name=f"catalog-supplier-{supplier_id}.xlsx", max_age=0)
        response.headers["Cache-Control"] = "private, no-store"
        return response
