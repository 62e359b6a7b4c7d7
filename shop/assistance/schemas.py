from marshmallow import Schema, fields, validate

from shop.assistance.models import BUYER_KINDS
from shop.assistance.statistics import CHANNELS, GROUP_BYS
from shop.pagination import PageArgsSchema, page_schema
from shop.presale.models import PUBLIC_STATUSES
from shop.validators import BUSINESS_DATE, Id, QueryId, RegionCode

DATE = {"maxLength": 10}  # keeps every documented query well inside gunicorn's request line


class StatsArgsSchema(Schema):
    group_by = fields.String(required=True, validate=validate.OneOf(GROUP_BYS), metadata={
        "description": "district: every origin district (all 15 reservoir districts, zeros included, plus any other "
                       "district with sales), with via_pairs_fen. supporter: the supporting provinces, each rolling "
                       "up its own pairs and its cities' and counties' (cities are items of group_by=pair). pair: "
                       "each support pair (key: its id). product, category (key `none`: uncategorised), "
                       "buyer_kind (shopper|institution), channel (retail|procurement|presale|store), market "
                       "(市内/市外: inside|outside|unknown), month (YYYY-MM, Asia/Shanghai, every month of the "
                       "period in order). supporter and pair cover the entries on a support pair only."})
    start = fields.Date(load_default=None, data_key="from", validate=BUSINESS_DATE, metadata={
        "description": "First Asia/Shanghai calendar day (YYYY-MM-DD); default: 1 January of the current year.",
        **DATE})
    end = fields.Date(load_default=None, data_key="to", validate=BUSINESS_DATE, metadata={
        "description": "Last day, included; default: 31 December of `from`'s year. At most ten years.", **DATE})
    district = RegionCode(load_default=None, metadata={"description": "Only lines from this origin district."})
    supporter = RegionCode(load_default=None, metadata={
        "description": "Only lines on the pairs of this supporting region or of regions inside it (a province "
                       "includes its cities' pairs)."})
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    buyer_kind = fields.String(load_default=None, validate=validate.OneOf(BUYER_KINDS))
    category = QueryId(load_default=None, metadata={"description": "A category id; its subcategories included."})
    raw = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"}, metadata={
        "description": "true: without small-group suppression (platform administrators only)."})


class ExportArgsSchema(StatsArgsSchema):
    class Meta:
        exclude = ("raw",)

    format = fields.String(required=True, validate=validate.OneOf(("xlsx", "csv")))


class StatsItemSchema(Schema):
    key = fields.String()
    label = fields.String()
    amount_fen = fields.Integer(allow_none=True, metadata={"description": "Net paid − refunded; null when "
                                                                          "suppressed"})
    quantity = fields.Integer(allow_none=True, metadata={"description": "Net units; null when suppressed"})
    via_pairs_fen = fields.Integer(allow_none=True, metadata={
        "description": "group_by=district only: the part that counted for a support pair; null for other "
                       "groupings, and when too few buyers make it up"})
    suppressed = fields.Boolean(metadata={"description": "Withheld: fewer than min_buyers distinct buyers, or "
                                                         "withheld so that another cannot be recovered"})


class AmountsSchema(Schema):
    amount_fen = fields.Integer(allow_none=True)
    quantity = fields.Integer(allow_none=True)


class WithheldSchema(AmountsSchema):
    groups = fields.Integer()


class StatsSchema(Schema):
    group_by = fields.String()
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    min_buyers = fields.Integer(metadata={"description": "ASSISTANCE_MIN_BUYERS: the fewest distinct buyers a "
                                                         "published group has"})
    items = fields.List(fields.Nested(StatsItemSchema))
    withheld = fields.Nested(WithheldSchema, metadata={
        "description": "The withheld groups together (null sums when even the total would identify buyers)"})
    total = fields.Nested(AmountsSchema, metadata={
        "description": "Summed over the entries (never over the items); null only when the whole selection "
                       "has fewer than min_buyers buyers"})


class CampaignResultsArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(PUBLIC_STATUSES))


class CampaignResultSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    supplier_id = fields.Integer(metadata={"description": "The lead supplier"})
    district_code = fields.String(metadata={"description": "The lead supplier's district"})
    minimum_quantity = fields.Integer()
    capacity = fields.Integer()
    pledged_quantity = fields.Integer(metadata={"description": "Units held by active pledges"})
    allocated_quantity = fields.Integer(metadata={"description": "Units the harvest allotted (0 before)"})
    delivered_quantity = fields.Integer(metadata={"description": "Units the cooperatives delivered"})
    pledged_fen = fields.Integer(metadata={"description": "pledged_quantity × unit price"})
    paid_fen = fields.Integer(metadata={"description": "The pledges' orders' paid − refunded"})
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()


CampaignResultPageSchema = page_schema(CampaignResultSchema)


class OfficeCreateSchema(Schema):
    user_id = Id(required=True)
    region_code = RegionCode(required=True, metadata={"description": "The supporting region (a province, city "
                                                                     "or county) whose office the user joins"})


class OfficeQueryArgsSchema(PageArgsSchema):
    user_id = QueryId(load_default=None)
    region_code = RegionCode(load_default=None)


class OfficeSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    region_code = fields.String()
    granted_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


OfficePageSchema = page_schema(OfficeSchema)
