from marshmallow import Schema, fields

from shop.validators import CnMobile, Pattern, RegionCode, StrictBool, Text


class AddressSchema(Schema):
    id = fields.Integer(dump_only=True)
    recipient = fields.String(dump_only=True)
    mobile = fields.String(dump_only=True)
    region_code = fields.String(dump_only=True)
    region_name = fields.String(attribute="region.name", dump_only=True)
    detail = fields.String(dump_only=True)
    postal_code = fields.String(dump_only=True, allow_none=True)
    is_default = fields.Boolean(dump_only=True)


class AddressCreateSchema(Schema):
    recipient = Text(60, required=True)
    mobile = CnMobile(required=True)
    region_code = RegionCode(required=True, metadata={"description": "County-level GB/T 2260 code"})
    detail = Text(255, required=True)
    postal_code = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^\d{6}$"))
    is_default = StrictBool(load_default=False)


class AddressUpdateSchema(Schema):
    recipient = Text(60)
    mobile = CnMobile()
    region_code = RegionCode()
    detail = Text(255)
    postal_code = fields.String(allow_none=True, validate=Pattern(r"^\d{6}$"))
    is_default = StrictBool()
