"""The reserved share (预留份额) of the 832-platform rule: a budget unit with a canteen reserves at least 10% of its
canteen food spending (more where its province says so) for products of the designated areas, files that share
every year and tracks its progress; a unit without a canteen files none.

Shares are basis points (2000 = 20%); amounts are integer fen and every computation is integer arithmetic.

Called by the other procurement modules (keyword-only):
    require_reader(*, user, organization_id, action) -> Organization   members with `action`, or platform admins
    quota_payloads(*, organization_id, years) -> dict[int, dict | None]  filed quotas with progress; None: not filed
    progress_by_year(*, organization_id, years) -> dict[int, int]        one grouped query for all the years
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, or_, select

from shop.accounts.permissions import ensure_platform_admin
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.catalog.models import Category
from shop.database import local_day_start
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.pagination import SortKey, keyset_page
from shop.procurement import error_codes
from shop.procurement.models import AnnualQuota, ProvinceQuotaMinimum
from shop.procurement.organizations import get_organization, locked_organization, require_role
from shop.regions.models import Region
from shop.regions.services import find_region, names_of, region_chain
from shop.transaction import transaction

BP_PER_WHOLE = 10_000
NATIONAL_MINIMUM_BP = 1000  # 10%: the floor everywhere; provinces may only raise it
FIRST_YEAR, LAST_YEAR = 2000, 2100
# What is not canteen food (食堂食材) and so never counts toward the share, whoever sells it: medicines and
# planting material. Categories are subtrees of the catalog tree by slug (medicinal-herbs includes
# tcm-decoction-pieces); a product type is excluded wherever it is listed. A line without a category (none since
# categories were snapshotted) is judged by its product type alone.
NON_FOOD_CATEGORY_ROOTS = ("medicinal-herbs", "seeds-seedlings")
NON_FOOD_PRODUCT_TYPES = ("tcm_decoction",)


# --- who may read -------------------------------------------------------------------------------------------


def require_reader(*, user, organization_id: int, action: str):
    """The organisation, for a member whose role allows `action` or for a platform admin (who reads every
    organisation's quotas and statements); strangers and members of other organisations get 404."""
    if not user.is_platform_admin:
        require_role(user=user, organization_id=organization_id, action=action)
    return get_organization(organization_id=organization_id)


def percent(share_bp: int) -> str:
    """2000 → "20%", 1550 → "15.5%" (for messages and spreadsheets; exact, from the integer)."""
    whole, rest = divmod(share_bp, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + "%"


# --- province minimums ------------------------------------------------------------------------------------------


def _minimum_payload(row: ProvinceQuotaMinimum, region_name: str) -> dict:
    return {"region_code": row.region_code, "region_name": region_name, "share_bp": row.share_bp,
            "source": row.source, "updated_at": row.updated_at}


def list_minimums(*, limit: int, cursor: str | None) -> dict:
    """Provinces whose minimum is above the national floor (everyone signed in may read them: an organisation
    needs its minimum before it files)."""
    page = keyset_page(db.session, select(ProvinceQuotaMinimum),
                       keys=[SortKey(ProvinceQuotaMinimum.region_code, lambda m: m.region_code)], limit=limit,
                       cursor=cursor)
    names = names_of(m.region_code for m in page["items"])
    return {"items": [_minimum_payload(m, names[m.region_code]) for m in page["items"]],
            "next_cursor": page["next_cursor"]}


def set_minimum(*, actor, region_code: str, share_bp: int, source: str) -> dict:
    """Platform admins set (or change) a province's minimum, citing the provincial document. Setting the
    national floor itself is allowed: it records that the province asks for no more."""
    ensure_platform_admin(actor)
    busy = "Another administrator set this minimum at the same moment; read it and retry."
    with transaction(conflict=error_codes.QUOTA_MINIMUM_CHANGED, conflict_detail=busy) as tx:
        region = find_region(region_code)
        if region is None or region.level != "province":
            raise ValidationFailed("Minimums are set per province (a 6-digit province code such as 320000).",
                                   code=error_codes.NOT_A_PROVINCE, errors={"region_code": ["Not a province."]})
        row = db.session.get(ProvinceQuotaMinimum, region_code, populate_existing=True)
        before = None if row is None else audit.snapshot(row, ("share_bp", "source"))
        if row is None:
            row = ProvinceQuotaMinimum(region_code=region_code)
            db.session.add(row)
        row.share_bp, row.source = share_bp, source
        audit.record(tx, actor=actor, action=audit_actions.QUOTA_MINIMUM_SET, target_type="quota_minimum",
                     target_id=region_code, before=before, after=audit.snapshot(row, ("share_bp", "source")))
    return _minimum_payload(row, region.name)


def minimum_for(home_region_code: str) -> tuple[int, str | None]:
    """(minimum share in bp, the province's name or None) for an organisation at home in that province or in
    one of its cities: the province's minimum where one is set, else the national floor."""
    chain = region_chain(home_region_code)
    province = next((region for region in chain if region.level == "province"), None)
    row = db.session.get(ProvinceQuotaMinimum, province.code) if province else None
    minimum = max(NATIONAL_MINIMUM_BP, row.share_bp) if row else NATIONAL_MINIMUM_BP
    return minimum, province.name if province else None


# --- filing ---------------------------------------------------------------------------------------------------


def target_fen(canteen_food_spend_fen: int, share_bp: int) -> int:
    """The reserved amount, rounded up to the fen: a share is a floor, so it is never rounded away."""
    return -(-canteen_food_spend_fen * share_bp // BP_PER_WHOLE)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"A quota year is between {FIRST_YEAR} and {LAST_YEAR}.",
                               code=error_codes.INVALID_QUOTA_YEAR,
                               errors={"year": [f"Between {FIRST_YEAR} and {LAST_YEAR}."]})


def file_quota(*, user, organization_id: int, year: int, canteen_food_spend_fen: int, share_bp: int) -> dict:
    """An organisation's admin files (or re-files) the year's canteen food spending and reserved share."""
    with transaction():
        require_role(user=user, organization_id=organization_id, action="file_quota")
        _check_year(year)
        organization = locked_organization(organization_id)  # serialises two filings of the same year
        if not organization.has_canteen:
            raise Conflict("An organisation without a canteen files no reserved share.",
                           code=error_codes.NO_CANTEEN)
        minimum, province = minimum_for(organization.home_region_code)
        if share_bp < minimum:
            where = f"in {province}" if province and minimum > NATIONAL_MINIMUM_BP else "nationally"
            raise ValidationFailed(f"The reserved share is at least {minimum} bp ({percent(minimum)}) {where}.",
                                   code=error_codes.SHARE_BELOW_MINIMUM,
                                   errors={"share_bp": [f"At least {minimum} ({percent(minimum)})."]},
                                   extra={"minimum_share_bp": minimum})
        quota = db.session.scalar(select(AnnualQuota).where(AnnualQuota.organization_id == organization_id,
                                                            AnnualQuota.year == year))
        if quota is None:
            quota = AnnualQuota(organization_id=organization_id, year=year)
            db.session.add(quota)
        quota.canteen_food_spend_fen, quota.share_bp = canteen_food_spend_fen, share_bp
        quota.target_fen = target_fen(canteen_food_spend_fen, share_bp)
        quota.filed_by_id = user.id
    return quota_payloads(organization_id=organization_id, years=[year])[year]


# --- progress -------------------------------------------------------------------------------------------------


def _non_food_category_ids():
    roots = [select(Category.path).where(Category.slug == slug).scalar_subquery() for slug in NON_FOOD_CATEGORY_ROOTS]
    return select(Category.id).where(or_(*[Category.path.startswith(root) for root in roots]))


def counts_toward_share():
    """The order-line condition: canteen food from a reservoir district (the line's snapshot of origin, type and
    category as sold)."""
    return and_(OrderLine.origin_district_code.in_(select(Region.code).where(Region.reservoir_district.is_(True))),
                OrderLine.product_type.not_in(NON_FOOD_PRODUCT_TYPES),
                or_(OrderLine.category_id.is_(None), OrderLine.category_id.not_in(_non_food_category_ids())))


def year_start(year: int) -> dt.datetime:
    return local_day_start(dt.date(year, 1, 1))


def progress_by_year(*, organization_id: int, years) -> dict[int, int]:
    """Paid canteen food from reservoir districts, net of refunds, per local calendar year of the order's
    placement: Σ (line paid − line refunded) over the organisation's procurement orders. One statement for all
    the years (an order's year is a CASE over UTC ranges, which both SQLite and PostgreSQL group by)."""
    years = sorted(set(years))
    if not years:
        return {}
    year_of = case(*[(and_(Order.placed_at >= year_start(y), Order.placed_at < year_start(y + 1)), y)
                     for y in years], else_=None)
    lines = (select(year_of.label("year"), (OrderLine.paid_fen - OrderLine.refunded_fen).label("net_fen"))
             .join(Order, Order.id == OrderLine.order_id)
             .where(Order.organization_id == organization_id, Order.channel == "procurement",
                    Order.placed_at >= year_start(years[0]), Order.placed_at < year_start(years[-1] + 1),
                    counts_toward_share())
             .subquery())
    # Grouped outside: PostgreSQL does not match a GROUP BY CASE whose bound parameters are rendered anew.
    found = dict(db.session.execute(select(lines.c.year, func.sum(lines.c.net_fen))
                                    .where(lines.c.year.is_not(None)).group_by(lines.c.year)).all())
    return {year: int(found.get(year) or 0) for year in years}


def _payload(quota: AnnualQuota, progress: int) -> dict:
    spend, target = quota.canteen_food_spend_fen, quota.target_fen
    return {
        "organization_id": quota.organization_id, "year": quota.year, "canteen_food_spend_fen": spend,
        "share_bp": quota.share_bp, "target_fen": target, "progress_fen": progress,
        "share_reached_bp": progress * BP_PER_WHOLE // spend if spend else 0,
        "remaining_fen": max(target - progress, 0), "achieved": progress >= target,
        "filed_by_id": quota.filed_by_id, "created_at": quota.created_at, "updated_at": quota.updated_at,
    }


def _with_progress(organization_id: int, quotas: list[AnnualQuota]) -> list[dict]:
    progress = progress_by_year(organization_id=organization_id, years=[q.year for q in quotas])
    return [_payload(q, progress[q.year]) for q in quotas]


def quota_payloads(*, organization_id: int, years) -> dict[int, dict | None]:
    """Each year's filed quota with its progress, or None where nothing is filed (two statements at most)."""
    years = sorted(set(years))
    quotas = list(db.session.scalars(select(AnnualQuota).where(AnnualQuota.organization_id == organization_id,
                                                               AnnualQuota.year.in_(years))
                                     .execution_options(populate_existing=True)))
    filed = {payload["year"]: payload for payload in _with_progress(organization_id, quotas)}
    return {year: filed.get(year) for year in years}


def get_quota(*, viewer, organization_id: int, year: int) -> dict:
    require_reader(user=viewer, organization_id=organization_id, action="view")
    _check_year(year)
    payload = quota_payloads(organization_id=organization_id, years=[year])[year]
    if payload is None:
        raise NotFound(f"No quota is filed for {year}.", code=error_codes.QUOTA_NOT_FOUND)
    return payload


def list_quotas(*, viewer, organization_id: int, limit: int, cursor: str | None) -> dict:
    """The filed years, newest first, each with its progress (one progress statement for the whole page)."""
    require_reader(user=viewer, organization_id=organization_id, action="view")
    page = keyset_page(db.session, select(AnnualQuota).where(AnnualQuota.organization_id == organization_id),
                       keys=[SortKey(AnnualQuota.year, lambda q: q.year, descending=True),
                             SortKey(AnnualQuota.id, lambda q: q.id, descending=True)], limit=limit, cursor=cursor)
    return {"items": _with_progress(organization_id, page["items"]), "next_cursor": page["next_cursor"]}
