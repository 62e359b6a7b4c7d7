from marshmallow import Schema, fields, validate

from shop.checkout.schemas import CheckoutHeadersSchema
from shop.orders.schemas import OrderSchema
from shop.pagination import PageArgsSchema, page_schema
from shop.payments.schemas import BANK_REFERENCE, PaymentWithSecretSchema
from shop.presale import events
from shop.presale.models import ALLOCATION_POLICIES, CAMPAIGN_STATUSES, CAMPAIGN_TRANSITIONS, DEFAULT_PROMISES
from shop.validators import Fen, Id, Quantity, QueryId, Text

PledgeHeadersSchema = CheckoutHeadersSchema  # Idempotency-Key, as at checkout


class CampaignSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer(metadata={"description": "The lead supplier: it ships and is settled"})
    sku_id = fields.Integer()
    title = fields.String()
    story = fields.String()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    ships_from = fields.Date()
    ships_until = fields.Date()
    unit_price_fen = fields.Integer()
    deposit_per_unit_fen = fields.Integer(metadata={"description": "定金 per unit; 0 = full prepayment (no 定金 rules)"})
    minimum_quantity = fields.Integer()
    capacity = fields.Integer()
    per_buyer_limit = fields.Integer(allow_none=True)
    allocation_policy = fields.String()
    default_promise = fields.String(metadata={"description": "What buyers are owed if the supplier defaults without "
                                                             "cause: double_deposit (定金) or refund_in_full"})
    pledged_quantity = fields.Integer()
    remaining_quantity = fields.Integer()
    status = fields.String()
    suspended_from = fields.String(allow_none=True)
    status_reason = fields.String()
    harvested_quantity = fields.Integer(allow_none=True, metadata={"description": "Entered at allocation"})
    allocated_at = fields.DateTime(allow_none=True)
    balance_due_at = fields.DateTime(allow_none=True, metadata={
        "description": "Balances unpaid by then are forfeited (定金 kept); null when none is asked"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


CampaignPageSchema = page_schema(CampaignSchema)


class _CampaignFields(Schema):
    sku_id = Id()
    title = Text(120)
    story = fields.String(validate=validate.Length(max=5000))
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    ships_from = fields.Date(metadata={"description": "Harvest and shipping window, within the product's sale months"})
    ships_until = fields.Date()
    unit_price_fen = Fen()
    deposit_per_unit_fen = Fen(allow_zero=True, metadata={"description": "At most 20% of unit_price_fen; 0 = full "
                                                                         "prepayment"})
    minimum_quantity = Quantity()
    capacity = Quantity()
    per_buyer_limit = Quantity(allow_none=True)
    allocation_policy = fields.String(validate=validate.OneOf(ALLOCATION_POLICIES))
    default_promise = fields.String(allow_none=True, validate=validate.OneOf(DEFAULT_PROMISES), metadata={
        "description": "Defaults to double_deposit with a deposit, refund_in_full without"})


REQUIRED = ("sku_id", "title", "opens_at", "closes_at", "ships_from", "ships_until", "unit_price_fen",
            "minimum_quantity", "capacity", "allocation_policy")


class CampaignCreateSchema(_CampaignFields):
    supplier_id = Id(required=True, metadata={"description": "The lead supplier; the caller is its manager or owner"})

    def on_bind_field(self, field_name, field_obj):
        if field_name in REQUIRED:
            field_obj.required = True


class CampaignUpdateSchema(_CampaignFields):
    """Drafts only; any subset of the fields."""


class CampaignQueryArgsSchema(PageArgsSchema):
    supplier_id = QueryId(load_default=None)
    sku_id = QueryId(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(CAMPAIGN_STATUSES))


class ReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class CampaignEventSchema(Schema):
    id = fields.Integer()
    type = fields.String(metadata={"description": "A move records the status it reaches (" +
                                                  ", ".join(sorted(set().union(*CAMPAIGN_TRANSITIONS.values()))) +
                                                  "); other events: " + ", ".join(events.EVENT_TYPES)})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    reason = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()


class PledgeCreateSchema(Schema):
    quantity = Quantity(required=True)
    address_id = Id(required=True)
    return_confirmations = fields.List(Id(), load_default=list, validate=validate.Length(max=10), metadata={
        "description": "The product id, when its exclusion from 7-day no-reason return must be confirmed"})
    note = fields.String(load_default="", validate=validate.Length(max=255))
    organization_id = Id(load_default=None, metadata={
        "description": "Pledge for this organisation: the caller is a member who may place requisitions, the "
                       "pledge within their spending limit; the organisation approved. Its home region is the "
                       "buyer region, and under the institutions_first policy it is served first."})
    payment = fields.String(load_default="card", validate=validate.OneOf(("card", "terms")), metadata={
        "description": "card: the deposit (or the full price) by card now. terms: only for an organisation "
                       "granted payment terms, nothing paid now, invoiced for the units allotted"})
    fapiao_type = fields.String(load_default=None, validate=validate.OneOf(("normal", "special")), metadata={
        "description": "With organization_id: a 普通 (normal) or 专用 (special) fapiao with the organisation's own "
                       "details, one request per supplier as for a requisition"})


class PledgeReduceSchema(Schema):
    quantity = Quantity(required=True, metadata={"description": "The units the pledge keeps (fewer than it holds; "
                                                                "the same changes nothing)"})


class PledgeSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    order_id = fields.Integer()
    quantity = fields.Integer()
    status = fields.String(metadata={"description": "active (holds capacity), released, or forfeited (balance "
                                                    "unpaid by the deadline: the 定金 is kept)"})
    kind = fields.String(metadata={"description": "pledge, or top_up: units of forfeited pledges offered to this "
                                                  "buyer's pledge that got less (parent_pledge_id)"})
    parent_pledge_id = fields.Integer(allow_none=True)
    allocated_quantity = fields.Integer(allow_none=True, metadata={"description": "null until allocation"})
    allocation_reason = fields.String()
    allocation_refund_fen = fields.Integer(metadata={"description": "What allocation gave back for units not "
                                                                    "allotted"})
    created_at = fields.DateTime()
    released_at = fields.DateTime(allow_none=True)


class PledgeResultSchema(Schema):
    pledge = fields.Nested(PledgeSchema)
    order = fields.Nested(OrderSchema)
    payment = fields.Nested(PaymentWithSecretSchema, allow_none=True)
    payment_error = fields.String(allow_none=True)


class SupplyCommitSchema(Schema):
    supplier_id = Id(required=True, metadata={"description": "The committing cooperative: the caller is its manager "
                                                             "or owner; the lead supplier's district"})
    quantity = Quantity(required=True, metadata={"description": "Units of the campaign's SKU; replaces an earlier "
                                                                "commitment of the same supplier and grade"})
    grade = fields.String(load_default="", validate=validate.Length(max=20),
                          metadata={"description": "e.g. 特级果 or 一级果; empty when not graded"})
    note = fields.String(load_default="", validate=validate.Length(max=255))


class SupplyDeliverySchema(Schema):
    delivered_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000),
                                        metadata={"description": "May exceed the commitment"})


class SupplyCommitmentSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    supplier_id = fields.Integer()
    grade = fields.String()
    quantity = fields.Integer()
    delivered_quantity = fields.Integer()
    note = fields.String()
    committed_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class _DemandByKindSchema(Schema):
    kind = fields.String(metadata={"description": "shopper, or institution (an order of an organisation)"})
    quantity = fields.Integer()
    pledges = fields.Integer()


class _DemandByRegionSchema(Schema):
    region_code = fields.String(allow_none=True)
    name = fields.String()
    quantity = fields.Integer()
    pledges = fields.Integer()


class _SupplyBySupplierSchema(Schema):
    supplier_id = fields.Integer()
    name = fields.String()
    grade = fields.String()
    quantity = fields.Integer()
    delivered_quantity = fields.Integer()


class _PlanTotalsSchema(Schema):
    demand = fields.Integer(metadata={"description": "Units of active pledges"})
    paid_demand = fields.Integer(metadata={"description": "Units of active pledges paid (or on terms): only these "
                                                          "count toward the minimum at the close"})
    pledges = fields.Integer()
    minimum_quantity = fields.Integer()
    capacity = fields.Integer()
    gap_to_minimum = fields.Integer(metadata={"description": "max(minimum - demand, 0)"})
    gap_to_capacity = fields.Integer(metadata={"description": "max(capacity - demand, 0)"})
    committed = fields.Integer()
    delivered = fields.Integer()
    supply_minus_demand = fields.Integer()
    cases_needed = fields.Integer(metadata={"description": "ceil(demand / case_size)"})


class PlanSchema(Schema):
    campaign_id = fields.Integer()
    status = fields.String()
    case_size = fields.Integer(metadata={"description": "The SKU's qty_step"})
    totals = fields.Nested(_PlanTotalsSchema)
    demand_by_kind = fields.List(fields.Nested(_DemandByKindSchema))
    demand_by_region = fields.List(fields.Nested(_DemandByRegionSchema))
    supply_by_supplier = fields.List(fields.Nested(_SupplyBySupplierSchema))


class AllocateSchema(Schema):
    harvested_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000),
                                        metadata={"description": "Units of the campaign's SKU harvested for it"})
    balance_days = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=30), metadata={
        "description": "Days to pay the balance (default PRESALE_BALANCE_DAYS, 7)"})


class _PledgeAllocationSchema(Schema):
    pledge_id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String()
    institution = fields.Boolean()
    pledged = fields.Integer()
    allocated = fields.Integer()
    reason = fields.String(metadata={"description": "Why this pledge got what it got"})
    refund_fen = fields.Integer(metadata={"description": "Deposit (or prepayment) given back for units not allotted"})
    balance_fen = fields.Integer(metadata={"description": "The card balance the order still asks (0 on terms: the "
                                                          "invoice bills it)"})


class AllocationSchema(Schema):
    campaign = fields.Nested(CampaignSchema)
    pledges = fields.List(fields.Nested(_PledgeAllocationSchema))


class CompensationSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    pledge_id = fields.Integer()
    order_id = fields.Integer()
    buyer_id = fields.Integer()
    supplier_id = fields.Integer(metadata={"description": "The lead supplier, who bears it in its settlement"})
    amount_fen = fields.Integer(metadata={"description": "The 定金 once more, on top of its refund"})
    status = fields.String(metadata={"description": "owed, or paid (an operator sent it)"})
    reference = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class CompensationPayoutSchema(Schema):
    reference = fields.String(required=True, validate=BANK_REFERENCE,
                              metadata={"description": "The bank's reference of the transfer to the buyer"})
