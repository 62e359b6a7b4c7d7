"""Campaign verbs: drafts by the lead supplier's managers, opening by them, suspension by the platform, and the
reads (cancelling, which cancels the pledges, is shop.presale.cancellation). Each write is one unit of work; state moves are conditional UPDATEs recorded as events.

Who sees what: drafts exist only for the supplier's members (anyone else gets 404, like a missing one);
suspended campaigns for its members and platform admins; every other state is public.

Called by the other presale modules (keyword-only):
    public_campaign(*, viewer, campaign_id) -> Campaign     404 unless `viewer` may see it
    locked_campaign(campaign_id) -> Campaign                 row lock (PostgreSQL), re-read
    move_campaign(campaign, to, *, actor, ...)               conditional move + event, or 409
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update

from shop.accounts.permissions import ensure_platform_admin
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.catalog.queries import load_sku, sellable_problem
from shop.database import local_today, utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.pagination import SortKey, keyset_page
from shop.presale import error_codes, events
from shop.presale.models import (LIVE_STATUSES, MAX_DEPOSIT_SHARE, PUBLIC_STATUSES, Campaign, CampaignEvent)
from shop.suppliers import services as suppliers
from shop.transaction import transaction

EDITABLE_FIELDS = ("sku_id", "title", "story", "opens_at", "closes_at", "ships_from", "ships_until", "unit_price_fen",
                   "deposit_per_unit_fen", "minimum_quantity", "capacity", "per_buyer_limit", "allocation_policy",
                   "default_promise")

AUDITED_MOVE_FIELDS = ("title", "status", "suspended_from", "status_reason")  # an operator's move


# --- lookups ------------------------------------------------------------------------------------------------


def _campaign(campaign_id: int, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
    campaign = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def locked_campaign(campaign_id: int) -> Campaign:
    return _campaign(campaign_id, lock=True)


def _may_see(viewer, campaign: Campaign) -> bool:
    if campaign.status in PUBLIC_STATUSES:
        return True
    if viewer is None:
        return False
    if campaign.status == "suspended" and viewer.is_platform_admin:
        return True
    return suppliers.is_member(user=viewer, supplier_id=campaign.supplier_id)


def public_campaign(*, viewer, campaign_id: int) -> Campaign:
    campaign = _campaign(campaign_id)
    if not _may_see(viewer, campaign):
        raise NotFound("No such campaign.")
    return campaign


def managed_campaign_id(*, user, campaign_id: int) -> int:
    """The id, when `user` is a manager (or owner) of the campaign's supplier: anyone else gets 404 (a staff
    member 403 role_required)."""
    campaign = _campaign(campaign_id)
    try:
        suppliers.require_role(user=user, supplier_id=campaign.supplier_id, action="run_campaigns")
    except NotFound:
        raise NotFound("No such campaign.")
    return campaign.id


def _managed_campaign(*, user, campaign_id: int) -> Campaign:
    """The campaign, locked, for its supplier's managers (see managed_campaign_id)."""
    return locked_campaign(managed_campaign_id(user=user, campaign_id=campaign_id))


def move_campaign(campaign: Campaign, to: str, *, actor, reason: str = "", values: dict | None = None,
                  event: str | None = None, **data) -> None:
    """Move the campaign to `to` (a conditional UPDATE on its current status) or raise 409."""
    if not campaign.can_move_to(to):
        raise Conflict(f"A campaign that is {campaign.status} cannot become {to}.",
                       code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
    current = campaign.status
    result = db.session.execute(update(Campaign).where(Campaign.id == campaign.id, Campaign.status == current)
                                .values(status=to, status_reason=reason, updated_at=utcnow(), **(values or {}))
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("The campaign changed meanwhile; reload it.", code=error_codes.CAMPAIGN_STATE_CHANGED)
    events.record(campaign.id, event or to, actor_id=actor.id if actor else None, from_status=current, to_status=to,
                  reason=reason, **data)
    db.session.expire(campaign)


# --- the rules of a draft -----------------------------------------------------------------------------------


def _months(start: dt.date, end: dt.date) -> list[int]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _check_terms(values: dict, *, supplier_id: int) -> None:
    """Every rule a draft keeps, on the merged fields; the first broken one answers 422."""
    sku = load_sku(values["sku_id"])
    if sku is None or sku.product.supplier_id != supplier_id:
        raise ValidationFailed("The supplier has no such SKU.", code=error_codes.UNKNOWN_SKU,
                               errors={"sku_id": ["Not a SKU of this supplier."]})
    share_num, share_den = MAX_DEPOSIT_SHARE
    deposit, price = values["deposit_per_unit_fen"], values["unit_price_fen"]
    if deposit * share_den > price * share_num:
        raise ValidationFailed("A 定金 is at most 20% of the price (民法典第五百八十六条).",
                               code=error_codes.DEPOSIT_TOO_HIGH,
                               errors={"deposit_per_unit_fen": [f"At most {price * share_num // share_den}."]})
    promise = values.get("default_promise") or ("double_deposit" if deposit else "refund_in_full")
    if (promise == "double_deposit") != bool(deposit):
        raise ValidationFailed("A 定金 is returned double on default; a full prepayment is refunded in full.",
                               code=error_codes.INVALID_PROMISE,
                               errors={"default_promise": ["double_deposit" if deposit else "refund_in_full"]})
    values["default_promise"] = promise
    if values["closes_at"] <= values["opens_at"]:
        raise ValidationFailed("The order window closes after it opens.", code=error_codes.INVALID_WINDOW,
                               errors={"closes_at": ["After opens_at."]})
    if values["ships_until"] < values["ships_from"] or values["ships_from"] < local_today(values["closes_at"]):
        raise ValidationFailed("Shipping starts once the order window has closed, and ends after it starts.",
                               code=error_codes.INVALID_WINDOW,
                               errors={"ships_from": ["On or after the day orders close, and before ships_until."]})
    outside = sorted(set(_months(values["ships_from"], values["ships_until"])) - set(sku.product.sale_months))
    if outside:
        raise ValidationFailed("The product is not on sale in every month of the shipping window.",
                               code=error_codes.OUTSIDE_SALE_MONTHS,
                               errors={"ships_until": [f"Months outside the sale months: {outside}."]})
    capacity, limit = values["capacity"], values.get("per_buyer_limit")
    if values["minimum_quantity"] > capacity or (limit is not None and limit > capacity):
        raise ValidationFailed("The minimum and the per-buyer limit are at most the capacity.",
                               code=error_codes.INVALID_QUANTITIES, errors={"capacity": ["At least the minimum."]})


# --- supplier verbs -----------------------------------------------------------------------------------------


def create_campaign(*, user, supplier_id: int, **fields) -> Campaign:
    with transaction():
        suppliers.require_role(user=user, supplier_id=supplier_id, action="run_campaigns")
        values = {field: fields.get(field) for field in EDITABLE_FIELDS}
        values["story"] = values["story"] or ""
        values["deposit_per_unit_fen"] = values["deposit_per_unit_fen"] or 0
        _check_terms(values, supplier_id=supplier_id)
        campaign = Campaign(supplier_id=supplier_id, status="draft", created_by_id=user.id, **values)
        db.session.add(campaign)
        db.session.flush()
        events.created(campaign.id, actor_id=user.id)
    return _campaign(campaign.id)


def update_campaign(*, user, campaign_id: int, changes: dict) -> Campaign:
    with transaction():
        campaign = _managed_campaign(user=user, campaign_id=campaign_id)
        if campaign.status != "draft":
            raise Conflict("Only a draft is edited; cancel and start a new campaign.", code=error_codes.NOT_A_DRAFT)
        changes = {field: value for field, value in changes.items() if field in EDITABLE_FIELDS}
        if "default_promise" not in changes and "deposit_per_unit_fen" in changes:
            changes["default_promise"] = None  # follows the deposit unless given
        values = {field: getattr(campaign, field) for field in EDITABLE_FIELDS} | changes
        _check_terms(values, supplier_id=campaign.supplier_id)
        for field in EDITABLE_FIELDS:
            setattr(campaign, field, values[field])
        events.edited(campaign.id, actor_id=user.id, fields=sorted(changes))
    return _campaign(campaign_id)


def open_campaign(*, user, campaign_id: int) -> Campaign:
    """A draft goes public; it takes pledges from opens_at to closes_at."""
    with transaction():
        campaign = _managed_campaign(user=user, campaign_id=campaign_id)
        if campaign.status == "draft" and campaign.closes_at <= utcnow():
            raise Conflict("The order window has already ended; edit the draft first.",
                           code=error_codes.WINDOW_PASSED)
        sku = load_sku(campaign.sku_id)
        if sellable_problem(sku):
            raise Conflict("The SKU is not on sale (product, option or supplier).",
                           code=error_codes.PRODUCT_NOT_ON_SALE)
        move_campaign(campaign, "open", actor=user)
    return _campaign(campaign_id)


# --- platform verbs -----------------------------------------------------------------------------------------


def required_reason(reason: str, action: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why: the supplier and the buyers are told.", code=error_codes.REASON_REQUIRED,
                               errors={"reason": [f"Required to {action}."]})
    return reason


def suspend_campaign(*, actor, campaign_id: int, reason: str) -> Campaign:
    ensure_platform_admin(actor)
    reason = required_reason(reason, "suspend")
    with transaction() as tx:
        campaign = locked_campaign(campaign_id)
        if campaign.status not in LIVE_STATUSES:
            raise Conflict(f"A campaign that is {campaign.status} cannot be suspended.",
                           code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
        before = audit.snapshot(campaign, AUDITED_MOVE_FIELDS)
        move_campaign(campaign, "suspended", actor=actor, reason=reason, values={"suspended_from": campaign.status})
        audit.record(tx, actor=actor, action=audit_actions.CAMPAIGN_SUSPENDED, target_type="campaign",
                     target_id=campaign_id, before=before, after=audit.snapshot(campaign, AUDITED_MOVE_FIELDS),
                     keep=("title",))
    return _campaign(campaign_id)


def reinstate_campaign(*, actor, campaign_id: int, reason: str = "") -> Campaign:
    ensure_platform_admin(actor)
    with transaction() as tx:
        campaign = locked_campaign(campaign_id)
        if campaign.status != "suspended":
            raise Conflict("Only a suspended campaign is reinstated.", code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
        before = audit.snapshot(campaign, AUDITED_MOVE_FIELDS)
        move_campaign(campaign, campaign.suspended_from, actor=actor, reason=reason.strip(), event=events.REINSTATED,
                      values={"suspended_from": None})
        audit.record(tx, actor=actor, action=audit_actions.CAMPAIGN_REINSTATED, target_type="campaign",
                     target_id=campaign_id, before=before, after=audit.snapshot(campaign, AUDITED_MOVE_FIELDS),
                     keep=("title",))
    return _campaign(campaign_id)


# --- reading ------------------------------------------------------------------------------------------------


def view_campaign(*, viewer, campaign_id: int) -> Campaign:
    return public_campaign(viewer=viewer, campaign_id=campaign_id)


def list_campaigns(*, viewer, supplier_id: int | None = None, status: str | None = None, sku_id: int | None = None,
                   limit: int, cursor: str | None):
    """Newest first. Drafts and suspended campaigns only of the viewer's own suppliers (and suspended ones for
    platform admins)."""
    stmt = select(Campaign)
    visible = [Campaign.status.in_(PUBLIC_STATUSES)]
    if viewer is not None:
        mine = suppliers.member_supplier_ids(user=viewer)
        if mine:
            visible.append(Campaign.supplier_id.in_(mine))
        if viewer.is_platform_admin:
            visible.append(Campaign.status == "suspended")
    stmt = stmt.where(or_(*visible))
    if supplier_id is not None:
        stmt = stmt.where(Campaign.supplier_id == supplier_id)
    if status:
        stmt = stmt.where(Campaign.status == status)
    if sku_id is not None:
        stmt = stmt.where(Campaign.sku_id == sku_id)
    return keyset_page(db.session, stmt, keys=[SortKey(Campaign.id, lambda c: c.id, descending=True)], limit=limit,
                       cursor=cursor)


def list_events(*, viewer, campaign_id: int) -> list[CampaignEvent]:
    """The history, for the supplier's members and platform admins."""
    campaign = public_campaign(viewer=viewer, campaign_id=campaign_id)
    if not viewer.is_platform_admin and not suppliers.is_member(user=viewer, supplier_id=campaign.supplier_id):
        raise NotFound("No such campaign.")
    return list(db.session.scalars(select(CampaignEvent).where(CampaignEvent.campaign_id == campaign_id)
                                   .order_by(CampaignEvent.id)))
