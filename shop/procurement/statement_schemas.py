"""Schemas of province minimums, annual quotas and statements (shop.procurement.quota_routes)."""
from marshmallow import Schema, fields, validate

from shop.pagination import page_schema
from shop.procurement.quotas import BP_PER_WHOLE, NATIONAL_MINIMUM_BP
from shop.validators import MAX_AMOUNT_FEN, Fen, StrictInt, Text

BP = "Basis points: 2000 = 20%."


class ProvinceQuotaMinimumSchema(Schema):
    region_code = fields.String(dump_only=True)
    region_name = fields.String(dump_only=True)
    share_bp = fields.Integer(dump_only=True, metadata={"description": BP})
    source = fields.String(dump_only=True, metadata={"description": "The provincial document that sets it."})
    updated_at = fields.DateTime(dump_only=True)


class ProvinceQuotaMinimumUpdateSchema(Schema):
    share_bp = StrictInt(required=True, validate=validate.Range(min=NATIONAL_MINIMUM_BP, max=BP_PER_WHOLE),
                         metadata={"description": f"{BP} At least the national {NATIONAL_MINIMUM_BP}."})
    source = Text(1000, required=True, metadata={"description": "The provincial document (title, number, date)."})


class QuotaSchema(Schema):
    organization_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    canteen_food_spend_fen = fields.Integer(dump_only=True)
    share_bp = fields.Integer(dump_only=True, metadata={"description": BP})
    target_fen = fields.Integer(dump_only=True, metadata={
        "description": "ceil(canteen_food_spend_fen × share_bp / 10000)."})
    progress_fen = fields.Integer(dump_only=True, metadata={
        "description": "Paid procurement of canteen food from reservoir districts placed in the year (local "
                       "calendar), net of refunds. TCM decoction pieces, medicinal herbs and seeds do not count."})
    share_reached_bp = fields.Integer(dump_only=True, metadata={
        "description": "progress × 10000 // canteen_food_spend_fen (0 when the spend is 0)."})
    remaining_fen = fields.Integer(dump_only=True, metadata={"description": "max(target − progress, 0)."})
    achieved = fields.Boolean(dump_only=True)
    filed_by_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class QuotaFileSchema(Schema):
    canteen_food_spend_fen = Fen(required=True, allow_zero=True, max_fen=MAX_AMOUNT_FEN, metadata={
        "description": "The year's canteen food spending (食堂食材采购), integer fen."})
    share_bp = StrictInt(required=True, validate=validate.Range(min=0, max=BP_PER_WHOLE), metadata={
        "description": f"{BP} At least the minimum of the organisation's province (10% nationally)."})


QuotaPageSchema = page_schema(QuotaSchema)
ProvinceQuotaMinimumPageSchema = page_schema(ProvinceQuotaMinimumSchema)
