from marshmallow import Schema, fields, validate

from shop.pagination import PageArgsSchema, page_schema
from shop.regions.models import REGION_LEVELS, SUPPORT_KINDS
from shop.validators import RegionCode, StrictBool


class RegionSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    level = fields.String(dump_only=True)
    parent_code = fields.String(dump_only=True, allow_none=True)
    reservoir_district = fields.Boolean(dump_only=True)


class RegionBriefSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class RegionQueryArgsSchema(PageArgsSchema):
    level = fields.String(validate=validate.OneOf(REGION_LEVELS))
    parent = RegionCode()
    reservoir_district = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=32))


class SupportPairSchema(Schema):
    id = fields.Integer(dump_only=True)
    supporter = fields.Nested(RegionBriefSchema, dump_only=True)
    recipient = fields.Nested(RegionBriefSchema, dump_only=True)
    kind = fields.String(dump_only=True)
    verified = fields.Boolean(dump_only=True)
    evidence = fields.String(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SupportPairQueryArgsSchema(PageArgsSchema):
    supporter = RegionCode()
    recipient = RegionCode()
    kind = fields.String(validate=validate.OneOf(SUPPORT_KINDS))
    verified = fields.Boolean()


class SupportPairCreateSchema(Schema):
    supporter_code = RegionCode(required=True)
    recipient_code = RegionCode(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SUPPORT_KINDS))
    verified = StrictBool(load_default=False)
    evidence = fields.String(load_default="", validate=validate.Length(max=2000))


class SupportPairUpdateSchema(Schema):
    kind = fields.String(validate=validate.OneOf(SUPPORT_KINDS))
    verified = StrictBool()
    evidence = fields.String(validate=validate.Length(max=2000))


RegionPageSchema = page_schema(RegionSchema)
SupportPairPageSchema = page_schema(SupportPairSchema)
