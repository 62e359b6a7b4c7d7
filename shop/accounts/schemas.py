from marshmallow import Schema, fields, validate

from shop.validators import CnMobile, RegionCode, Text


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(dump_only=True)
    display_name = fields.String(dump_only=True)
    mobile = fields.String(dump_only=True, allow_none=True)
    home_region_code = fields.String(dump_only=True, allow_none=True)
    is_platform_admin = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class RegisterSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    display_name = Text(80, required=True)
    mobile = CnMobile(load_default=None, allow_none=True)
    home_region_code = RegionCode(load_default=None, allow_none=True)


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class SessionSchema(Schema):
    """The signed-in user and the CSRF token to send as X-CSRF-Token on cookie-authenticated writes."""

    user = fields.Nested(UserSchema)
    csrf_token = fields.String()


class ProfileUpdateSchema(Schema):
    display_name = Text(80)
    mobile = CnMobile(allow_none=True)
    home_region_code = RegionCode(allow_none=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenCreateSchema(Schema):
    name = Text(80, required=True)


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    prefix = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "Shown once; only its hash is stored."})
