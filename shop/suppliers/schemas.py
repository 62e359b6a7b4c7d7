from marshmallow import Schema, ValidationError, fields, validate

from shop.pagination import PageArgsSchema, page_schema
from shop.regions.schemas import RegionBriefSchema
from shop.suppliers.models import SUPPLIER_KINDS, SUPPLIER_STATUSES
from shop.suppliers.roles import MEMBER_ROLES
from shop.suppliers.services import REVIEW_ACTIONS
from shop.suppliers.vetting import COUNTY_ACTIONS, QUEUE_STATUSES, credit_code_region, region_mismatch
from shop.validators import CnPhone, CreditCode, Fen, RegionCode, StrictInt, Text

MAX_PRODUCERS = 50
MAX_EXCLUDED_REGIONS = 500


class ScLicenseNumber(fields.String):
    """食品生产许可证编号: "SC" + 14 digits."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not (len(raw) == 16 and raw.startswith("SC") and raw[2:].isascii() and raw[2:].isdigit()):
            raise ValidationError('"SC" followed by 14 digits.')
        return raw


class ProducerSchema(Schema):
    """A producer a trading agent sells for."""

    name = Text(120, required=True)
    credit_code = CreditCode(load_default=None, allow_none=True)


class SupplierPublicSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    credit_code = fields.String(dump_only=True)
    district_code = fields.String(dump_only=True)
    district = fields.Nested(RegionBriefSchema, dump_only=True)
    address = fields.String(dump_only=True)
    sc_license_number = fields.String(dump_only=True, allow_none=True)
    food_filing_number = fields.String(dump_only=True, allow_none=True)
    farmer_linkage = fields.String(dump_only=True)
    represented_producers = fields.List(fields.Nested(ProducerSchema), dump_only=True)
    status = fields.String(dump_only=True)
    is_demo = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SupplierSchema(SupplierPublicSchema):
    """What members and platform admins see: the public fields plus contact and review details."""

    contact_name = fields.String(dump_only=True)
    contact_phone = fields.String(dump_only=True)
    status_reason = fields.String(dump_only=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True)


class SupplierCreateSchema(Schema):
    name = Text(120, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SUPPLIER_KINDS))
    credit_code = CreditCode(required=True)
    district_code = RegionCode(required=True)
    contact_name = Text(60, required=True)
    contact_phone = CnPhone(required=True)
    address = Text(255, required=True)
    sc_license_number = ScLicenseNumber(load_default=None, allow_none=True)
    food_filing_number = Text(64, load_default=None, allow_none=True)
    farmer_linkage = Text(4000, min_length=0, load_default="")
    represented_producers = fields.List(fields.Nested(ProducerSchema), load_default=list,
                                        validate=validate.Length(max=MAX_PRODUCERS))


class SupplierUpdateSchema(Schema):
    """credit_code, district_code and kind may change only while the supplier is pending or rejected."""

    name = Text(120)
    kind = fields.String(validate=validate.OneOf(SUPPLIER_KINDS))
    credit_code = CreditCode()
    district_code = RegionCode()
    contact_name = Text(60)
    contact_phone = CnPhone()
    address = Text(255)
    sc_license_number = ScLicenseNumber(allow_none=True)
    food_filing_number = Text(64, allow_none=True)
    farmer_linkage = Text(4000, min_length=0)
    represented_producers = fields.List(fields.Nested(ProducerSchema), validate=validate.Length(max=MAX_PRODUCERS))


class SupplierQueryArgsSchema(PageArgsSchema):
    district = RegionCode()
    kind = fields.String(validate=validate.OneOf(SUPPLIER_KINDS))
    q = Text(60)
    mine = fields.Boolean(load_default=False, metadata={"description": "The caller's suppliers, in any status."})
    status = fields.String(validate=validate.OneOf(SUPPLIER_STATUSES),
                           metadata={"description": "Platform admins, or with mine=true; others see approved only."})


class SupplierReviewSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(REVIEW_ACTIONS),
                           metadata={"description": "approve takes recommended applicants only (the county of the "
                                                    "supplier's district recommends first)."})
    reason = Text(1000, min_length=0, load_default="",
                  metadata={"description": "Required to reject or suspend; shown to the supplier's members."})


class SupplierStatusEventSchema(Schema):
    id = fields.Integer(dump_only=True)
    from_status = fields.String(dump_only=True, allow_none=True)
    to_status = fields.String(dump_only=True)
    reason = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class SupplierMemberSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    email = fields.String(attribute="user.email", dump_only=True)
    display_name = fields.String(attribute="user.display_name", dump_only=True)
    role = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SupplierMemberCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254),
                         metadata={"description": "An existing account's email."})
    role = fields.String(load_default="staff", validate=validate.OneOf(MEMBER_ROLES),
                         metadata={"description": "owner: everything, members included; manager: also stock, "
                                                  "prices, shipping rules and refund decisions; staff: listings "
                                                  "and shipping of fulfilments."})


class SupplierMemberUpdateSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class ShippingRuleSchema(Schema):
    supplier_id = fields.Integer(dump_only=True)
    base_fee_fen = fields.Integer(dump_only=True)
    base_weight_g = fields.Integer(dump_only=True)
    per_extra_kg_fen = fields.Integer(dump_only=True)
    cold_chain_surcharge_fen = fields.Integer(dump_only=True)
    free_over_fen = fields.Integer(dump_only=True, allow_none=True)
    excluded_region_codes = fields.List(fields.String(), dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ShippingRuleUpdateSchema(Schema):
    """PUT replaces the whole rule."""

    base_fee_fen = Fen(allow_zero=True, required=True)
    base_weight_g = StrictInt(required=True, validate=validate.Range(min=0, max=1_000_000),
                              metadata={"description": "Grams covered by the base fee."})
    per_extra_kg_fen = Fen(allow_zero=True, required=True,
                           metadata={"description": "Per started kilogram above base_weight_g."})
    cold_chain_surcharge_fen = Fen(allow_zero=True, load_default=0)
    free_over_fen = Fen(allow_zero=True, load_default=None, allow_none=True,
                        metadata={"description": "Goods subtotal at or above which shipping is free; null: never."})
    excluded_region_codes = fields.List(RegionCode(), load_default=list,
                                        validate=validate.Length(max=MAX_EXCLUDED_REGIONS),
                                        metadata={"description": "Province, city or county codes not served."})


class CountyReviewerSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    email = fields.String(attribute="user.email", dump_only=True)
    display_name = fields.String(attribute="user.display_name", dump_only=True)
    district_code = fields.String(dump_only=True)
    district = fields.Nested(RegionBriefSchema, dump_only=True)
    appointed_by_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CountyReviewerCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254),
                         metadata={"description": "An existing account's email."})
    district_code = RegionCode(required=True, metadata={"description": "A reservoir-area district (county)."})


class CountyReviewerQueryArgsSchema(PageArgsSchema):
    district = RegionCode()


class ReviewQueueArgsSchema(PageArgsSchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(QUEUE_STATUSES))


class ReviewQueueItemSchema(SupplierSchema):
    """An applicant as its county reviewer sees it, with the credit code's region beside the district."""

    credit_code_region = fields.Function(lambda s: credit_code_region(s.credit_code), dump_only=True,
                                         metadata={"description": "Characters 3-8 of the credit code: the "
                                                                  "region where the company was registered."})
    region_mismatch = fields.Function(region_mismatch, dump_only=True,
                                      metadata={"description": "credit_code_region differs from district_code: "
                                                               "a flag to check, not a refusal."})


class CountyReviewSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(COUNTY_ACTIONS))
    reason = Text(1000, min_length=0, load_default="",
                  metadata={"description": "Required to reject (the application goes back to the applicant, "
                                           "who may edit and re-apply); shown to the supplier's members."})


SupplierPublicPageSchema = page_schema(SupplierPublicSchema)
CountyReviewerPageSchema = page_schema(CountyReviewerSchema)
ReviewQueuePageSchema = page_schema(ReviewQueueItemSchema)
SupplierStatusEventPageSchema = page_schema(SupplierStatusEventSchema)
SupplierMemberPageSchema = page_schema(SupplierMemberSchema)
