from marshmallow import Schema, ValidationError, fields, validate

from shop.checkout.schemas import CheckoutHeadersSchema, CheckoutItemSchema
from shop.database import local_today
from shop.orders.models import ORDER_STATUSES
from shop.orders.schemas import OrderEventSchema, OrderSchema
from shop.pagination import PageArgsSchema, page_schema
from shop.procurement.models import (ORGANIZATION_KINDS, ORGANIZATION_STATUSES, REVIEW_STEPS, STANDING_FREQUENCIES,
                                     STANDING_STATUSES, TERMS)
from shop.procurement.requisitions import PAYMENT_METHODS
from shop.procurement.roles import MEMBER_ROLES
from shop.regions.schemas import RegionBriefSchema
from shop.validators import (MAX_AMOUNT_FEN, CnMobile, CnPhone, CreditCode, Fen, Pattern, RegionCode, StrictBool,
                             Text)

REQUISITION_STATUSES = tuple(s for s in ORDER_STATUSES if s != "deposit_paid")  # deposits are for pre-sales


# --- organisations --------------------------------------------------------------------------------------------


class OrganizationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    credit_code = fields.String()
    home_region_code = fields.String()
    home_region = fields.Nested(RegionBriefSchema)
    address = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()
    has_canteen = fields.Boolean()
    fapiao_title = fields.String()
    taxpayer_id = fields.String(allow_none=True)
    fapiao_address_phone = fields.String()
    fapiao_bank_account = fields.String()
    payment_terms = fields.String(metadata={"description": "Set by the platform: prepaid (card only) or net_15/30/60"})
    status = fields.String()
    status_reason = fields.String()
    is_demo = fields.Boolean()
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)


OrganizationPageSchema = page_schema(OrganizationSchema)

_FAPIAO_HELP = {"fapiao_address_phone": "地址 电话: the address, a space, then the phone (no spaces in the phone)",
                "fapiao_bank_account": "开户行 账号: the bank, a space, then the account number (no spaces in it)"}


class OrganizationCreateSchema(Schema):
    name = Text(120, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANIZATION_KINDS))
    credit_code = CreditCode(required=True)
    home_region_code = RegionCode(required=True, metadata={
        "description": "The province or city its purchases are attributed to (消费帮扶 statistics)"})
    address = Text(255, required=True)
    contact_name = Text(60, required=True)
    contact_phone = CnPhone(required=True)
    has_canteen = StrictBool(required=True, metadata={
        "description": "Runs a canteen: only then does it file a reserved share (预留份额)"})
    fapiao_title = Text(120, required=True)
    taxpayer_id = CreditCode(load_default=None, allow_none=True,
                             metadata={"description": "Needed for 专用发票; usually the credit code"})
    fapiao_address_phone = Text(255, min_length=0, load_default="", metadata={"description": _FAPIAO_HELP[
        "fapiao_address_phone"]})
    fapiao_bank_account = Text(255, min_length=0, load_default="", metadata={"description": _FAPIAO_HELP[
        "fapiao_bank_account"]})


class OrganizationUpdateSchema(Schema):
    """credit_code, home_region_code and kind may change only while pending or rejected."""

    name = Text(120)
    kind = fields.String(validate=validate.OneOf(ORGANIZATION_KINDS))
    credit_code = CreditCode()
    home_region_code = RegionCode()
    address = Text(255)
    contact_name = Text(60)
    contact_phone = CnPhone()
    has_canteen = StrictBool()
    fapiao_title = Text(120)
    taxpayer_id = CreditCode(allow_none=True)
    fapiao_address_phone = Text(255, min_length=0)
    fapiao_bank_account = Text(255, min_length=0)


class OrganizationQueryArgsSchema(PageArgsSchema):
    mine = fields.Boolean(load_default=False, metadata={"description": "Only the caller's (platform admins "
                                                                       "otherwise list all)"})
    status = fields.String(validate=validate.OneOf(ORGANIZATION_STATUSES))


class OrganizationReviewSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(tuple(REVIEW_STEPS)))
    reason = Text(1000, min_length=0, load_default="",
                  metadata={"description": "Required to reject or suspend; shown to the organisation's admins."})


class PaymentTermsSchema(Schema):
    payment_terms = fields.String(required=True, validate=validate.OneOf(TERMS))


class OrganizationStatusEventSchema(Schema):
    id = fields.Integer()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String()
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class MemberUserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()


class OrganizationMemberSchema(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    user = fields.Nested(MemberUserSchema)
    role = fields.String()
    spending_limit_fen = fields.Integer(metadata={"description": "Orders up to this total are placed without "
                                                                 "approval; 0: every order waits for an approver"})
    created_at = fields.DateTime()


OrganizationMemberPageSchema = page_schema(OrganizationMemberSchema)


class OrganizationMemberCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    spending_limit_fen = Fen(allow_zero=True, max_fen=MAX_AMOUNT_FEN, load_default=0)


class OrganizationMemberUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(MEMBER_ROLES))
    spending_limit_fen = Fen(allow_zero=True, max_fen=MAX_AMOUNT_FEN)


# --- requisitions and invoices --------------------------------------------------------------------------------


class DeliveryAddressSchema(Schema):
    recipient = Text(60, required=True)
    mobile = CnMobile(required=True)
    region_code = RegionCode(required=True, metadata={"description": "County-level GB/T 2260 code"})
    detail = Text(255, required=True)
    postal_code = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^\d{6}$"))


def _not_past(day) -> None:
    """A client asks for delivery today or later (jobs placing a standing order's period pass its own date)."""
    if day is not None and day < local_today():
        raise ValidationError("Today or later.")


class RequisitionCreateSchema(Schema):
    items = fields.List(fields.Nested(CheckoutItemSchema), required=True, validate=validate.Length(min=1, max=100))
    delivery_address = fields.Nested(DeliveryAddressSchema, required=True)
    payment = fields.String(load_default="terms", validate=validate.OneOf(tuple(PAYMENT_METHODS)), metadata={
        "description": "terms: on the organisation's payment terms, against an invoice; card: paid through Stripe "
                       "once approved (POST /orders/{id}/payment)"})
    requested_delivery_on = fields.Date(load_default=None, allow_none=True, validate=lambda day: _not_past(day),
                                        metadata={"description": "Today or later (Asia/Shanghai)"})
    po_number = fields.String(load_default=None, allow_none=True,
                              validate=Pattern(r"^[\x21-\x7e]{1,64}$", error="1–64 visible ASCII characters."))
    note = fields.String(load_default="", validate=validate.Length(max=255))
    fapiao_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("normal", "special")),
                                metadata={"description": "Ask each supplier for a fapiao to the organisation's "
                                                         "details: normal (普通) or special (专用, needs its "
                                                         "taxpayer id)"})


RequisitionHeadersSchema = CheckoutHeadersSchema


class DecisionSchema(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=1000),
                            metadata={"description": "Shown to the buyer; required to reject"})


class InvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    order_id = fields.Integer()
    order_number = fields.String(attribute="order.number")
    organization_id = fields.Integer()
    terms = fields.String()
    amount_fen = fields.Integer()
    paid_fen = fields.Integer()
    due_fen = fields.Integer()
    status = fields.String(metadata={"description": "open, paid, or void (the order was cancelled unpaid)"})
    issued_on = fields.Date()
    due_on = fields.Date()


InvoicePageSchema = page_schema(InvoiceSchema)


class InvoiceQueryArgsSchema(PageArgsSchema):
    overdue = fields.Boolean(load_default=None, allow_none=True)


class RequisitionSchema(OrderSchema):
    placed_by_id = fields.Integer(attribute="buyer_id")
    invoice = fields.Nested(InvoiceSchema, allow_none=True)
    approval_history = fields.List(fields.Nested(OrderEventSchema), metadata={
        "description": "placed, approval_requested, approved (with within_limit and comment), rejected, withdrawn"})


RequisitionPageSchema = page_schema(RequisitionSchema)


class RequisitionQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REQUISITION_STATUSES))
    mine = fields.Boolean(load_default=False, metadata={"description": "Only those the caller placed (buyers "
                                                                       "always see only theirs)"})



# --- standing orders ------------------------------------------------------------------------------------------


class StandingOrderRunSchema(Schema):
    period_start = fields.Date()
    outcome = fields.String(metadata={"description": "placed, or skipped (with the reason)"})
    order_id = fields.Integer(allow_none=True)
    reason = fields.String()
    details = fields.Dict()
    created_at = fields.DateTime()


class StandingOrderSchema(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    buyer_id = fields.Integer()
    lines = fields.List(fields.Nested(CheckoutItemSchema))
    delivery_address = fields.Nested(DeliveryAddressSchema)
    frequency = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    po_number = fields.String(allow_none=True)
    note = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    runs = fields.List(fields.Nested(StandingOrderRunSchema), metadata={"description": "The latest 24 periods"})


StandingOrderPageSchema = page_schema(StandingOrderSchema)


class StandingOrderCreateSchema(Schema):
    items = fields.List(fields.Nested(CheckoutItemSchema), required=True, validate=validate.Length(min=1, max=100))
    delivery_address = fields.Nested(DeliveryAddressSchema, required=True)
    frequency = fields.String(required=True, validate=validate.OneOf(STANDING_FREQUENCIES), metadata={
        "description": "weekly: every 7 days from starts_on; monthly: the same day each month (the month's last day "
                       "when shorter)"})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "At most a year after starts_on"})
    po_number = fields.String(load_default=None, allow_none=True,
                              validate=Pattern(r"^[\x21-\x7e]{1,64}$", error="1–64 visible ASCII characters."))
    note = fields.String(load_default="", validate=validate.Length(max=255))


class StandingOrderStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STANDING_STATUSES))
