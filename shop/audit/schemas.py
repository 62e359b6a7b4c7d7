from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.audit.actions import ACTIONS, TARGET_TYPES, described
from shop.pagination import PageArgsSchema, page_schema
from shop.validators import BUSINESS_INSTANT, QueryId

ACTION_NAMES = list(ACTIONS)


class AuditActorSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    email = fields.String()


class AuditEntrySchema(Schema):
    id = fields.Integer()
    actor_id = fields.Integer()
    actor = fields.Nested(AuditActorSchema)
    action = fields.String(validate=validate.OneOf(ACTION_NAMES),
                           metadata={"description": "What the operator did:\n" + described()})
    target_type = fields.String(validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.String(metadata={"description": "The target's id (a province code for quota_minimum)"})
    before = fields.Dict(allow_none=True, metadata={
        "description": "The fields the action changed, as they were (and the ones that identify the target); "
                       "null when it created the target"})
    after = fields.Dict(allow_none=True, metadata={
        "description": "The same fields as the action left them; null when it removed the target"})
    request_id = fields.String(allow_none=True, metadata={"description": "X-Request-ID of the operator's request"})
    ip = fields.String(allow_none=True, metadata={"description": "The operator's client address"})
    created_at = fields.DateTime()


AuditEntryPageSchema = page_schema(AuditEntrySchema)


class AuditQueryArgsSchema(PageArgsSchema):
    actor_id = QueryId(load_default=None)
    action = fields.String(load_default=None, validate=validate.OneOf(ACTION_NAMES))
    target_type = fields.String(load_default=None, validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                              metadata={"maxLength": 40, "description": "With target_type: one object's history"})
    created_from = fields.AwareDateTime(load_default=None, data_key="from", validate=BUSINESS_INSTANT, metadata={
        "description": "Entries written at or after this instant (ISO 8601 with its offset)", "maxLength": 32})
    created_to = fields.AwareDateTime(load_default=None, data_key="to", validate=BUSINESS_INSTANT, metadata={
        "description": "Entries written before this instant (excluded)", "maxLength": 32})

    @validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("created_from"), data.get("created_to")
        if start is not None and end is not None and end <= start:
            raise ValidationError("Must be after `from`.", field_name="to")
