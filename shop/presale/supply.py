"""Supply commitments: cooperatives of the lead supplier's district (the lead supplier too) promise quantities
of the campaign's SKU, per grade, while it is a draft or open; the lead supplier's managers record deliveries
once it has succeeded. Every change is a CampaignEvent carrying the previous quantity.

Who sees commitments: the lead supplier's members, the members of every contributing supplier (partners see
all of the campaign's commitments) and platform admins; anyone else 404, as for a missing campaign.

Called by shop.presale.plan (keyword-only):
    partner_campaign(*, viewer, campaign_id) -> Campaign     404 unless `viewer` is a partner or an admin
"""
from __future__ import annotations

from sqlalchemy import select

from shop.database import utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.presale import error_codes
from shop.presale import events
from shop.presale.campaigns import locked_campaign, public_campaign
from shop.presale.models import DELIVERY_STATUSES, SUPPLY_OPEN_STATUSES, Campaign, SupplyCommitment
from shop.suppliers import services as suppliers
from shop.transaction import transaction


def _contributor_ids(campaign_id: int) -> list[int]:
    return list(db.session.scalars(select(SupplyCommitment.supplier_id).distinct()
                                   .where(SupplyCommitment.campaign_id == campaign_id)))


def partner_campaign(*, viewer, campaign_id: int) -> Campaign:
    campaign = public_campaign(viewer=viewer, campaign_id=campaign_id)
    if viewer.is_platform_admin:
        return campaign
    partners = {campaign.supplier_id, *_contributor_ids(campaign_id)}
    if not partners & set(suppliers.member_supplier_ids(user=viewer)):
        raise NotFound("No such campaign.")
    return campaign


def _commitment(campaign_id: int, commitment_id: int) -> SupplyCommitment:
    commitment = db.session.scalar(select(SupplyCommitment).where(SupplyCommitment.id == commitment_id,
                                                                  SupplyCommitment.campaign_id == campaign_id)
                                   .execution_options(populate_existing=True).with_for_update())
    if commitment is None:
        raise NotFound("No such commitment.")
    return commitment


def _require_supply_open(campaign: Campaign) -> None:
    # The closing job may not have run yet: the window's end counts, not only the status.
    if campaign.status not in SUPPLY_OPEN_STATUSES or campaign.closes_at <= utcnow():
        raise Conflict(f"Supply is committed only before the order window ends (the campaign is {campaign.status}).",
                       code=error_codes.SUPPLY_CLOSED)


def _check_contributor(*, user, campaign: Campaign, supplier_id: int) -> None:
    suppliers.require_role(user=user, supplier_id=supplier_id, action="run_campaigns")
    supplier = suppliers.get_supplier(supplier_id=supplier_id)
    if not supplier.is_approved():
        raise Conflict("Only an approved supplier commits supply.", code=error_codes.SUPPLIER_NOT_APPROVED)
    lead = suppliers.get_supplier(supplier_id=campaign.supplier_id)
    if supplier.district_code != lead.district_code:
        raise ValidationFailed("Only cooperatives of the lead supplier's district commit supply.",
                               code=error_codes.OTHER_DISTRICT,
                               errors={"supplier_id": [f"Not registered in district {lead.district_code}."]})


def commit_supply(*, user, campaign_id: int, supplier_id: int, quantity: int, grade: str = "",
                  note: str = "") -> SupplyCommitment:
    """Create the supplier's commitment of this grade, or replace its quantity."""
    grade = grade.strip()
    with transaction(conflict=error_codes.SUPPLY_CHANGED):
        campaign = public_campaign(viewer=user, campaign_id=campaign_id)
        _check_contributor(user=user, campaign=campaign, supplier_id=supplier_id)
        campaign = locked_campaign(campaign_id)  # serialises commitments against each other and the closing job
        _require_supply_open(campaign)
        commitment = db.session.scalar(select(SupplyCommitment).where(
            SupplyCommitment.campaign_id == campaign_id, SupplyCommitment.supplier_id == supplier_id,
            SupplyCommitment.grade == grade).execution_options(populate_existing=True).with_for_update())
        previous = commitment.quantity if commitment else None
        if commitment is None:
            commitment = SupplyCommitment(campaign_id=campaign_id, supplier_id=supplier_id, grade=grade)
            db.session.add(commitment)
        commitment.quantity, commitment.note, commitment.committed_by_id = quantity, note, user.id
        db.session.flush()
        events.supply_committed(campaign_id, actor_id=user.id, commitment_id=commitment.id, supplier_id=supplier_id,
                                grade=grade, quantity=quantity, previous_quantity=previous)
        commitment_id = commitment.id
    return db.session.get(SupplyCommitment, commitment_id)


def withdraw_supply(*, user, campaign_id: int, commitment_id: int) -> None:
    """The contributing supplier's managers take the commitment back, while supply is still open."""
    with transaction():
        public_campaign(viewer=user, campaign_id=campaign_id)
        commitment = _commitment(campaign_id, commitment_id)
        try:
            suppliers.require_role(user=user, supplier_id=commitment.supplier_id, action="run_campaigns")
        except NotFound:
            raise NotFound("No such commitment.")
        _require_supply_open(locked_campaign(campaign_id))
        events.supply_withdrawn(campaign_id, actor_id=user.id, commitment_id=commitment.id,
                                supplier_id=commitment.supplier_id, grade=commitment.grade,
                                previous_quantity=commitment.quantity)
        db.session.delete(commitment)


def record_delivery(*, user, campaign_id: int, commitment_id: int, delivered_quantity: int) -> SupplyCommitment:
    """The lead supplier's managers set what the cooperative delivered (more than committed is a fact too)."""
    with transaction():
        campaign = public_campaign(viewer=user, campaign_id=campaign_id)
        try:
            suppliers.require_role(user=user, supplier_id=campaign.supplier_id, action="run_campaigns")
        except NotFound:
            raise NotFound("No such commitment.")
        campaign = locked_campaign(campaign_id)
        commitment = _commitment(campaign_id, commitment_id)
        if campaign.status not in DELIVERY_STATUSES:
            raise Conflict(f"Deliveries are recorded once the campaign has succeeded (it is {campaign.status}).",
                           code=error_codes.DELIVERY_NOT_DUE)
        previous = commitment.delivered_quantity
        commitment.delivered_quantity = delivered_quantity
        events.supply_delivered(campaign_id, actor_id=user.id, commitment_id=commitment.id,
                                supplier_id=commitment.supplier_id, grade=commitment.grade,
                                committed=commitment.quantity, delivered_quantity=delivered_quantity,
                                previous_delivered=previous)
    return db.session.get(SupplyCommitment, commitment_id)


def list_supply(*, viewer, campaign_id: int) -> list[SupplyCommitment]:
    partner_campaign(viewer=viewer, campaign_id=campaign_id)
    return list(db.session.scalars(select(SupplyCommitment).where(SupplyCommitment.campaign_id == campaign_id)
                                   .order_by(SupplyCommitment.id)))
