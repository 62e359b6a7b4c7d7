"""A campaign's history: every event type it can record, and one function per event that is not a move.

A move (shop.presale.campaigns.move_campaign) records the status it reaches (`open`, `succeeded`, …, the
CAMPAIGN_TRANSITIONS targets) or the name its mover gives (REINSTATED)."""
from __future__ import annotations

from shop.extensions import db
from shop.presale.models import CampaignEvent

CREATED = "created"
EDITED = "edited"
REINSTATED = "reinstated"  # a suspended campaign back to the status it was suspended from
SUPPLY_COMMITTED = "supply_committed"
SUPPLY_WITHDRAWN = "supply_withdrawn"
SUPPLY_DELIVERED = "supply_delivered"
COMPENSATION_PAID = "compensation_paid"
EVENT_TYPES = (CREATED, EDITED, REINSTATED, SUPPLY_COMMITTED, SUPPLY_WITHDRAWN, SUPPLY_DELIVERED, COMPENSATION_PAID)


def record(campaign_id: int, type_: str, *, actor_id: int | None, from_status: str | None = None,
           to_status: str | None = None, reason: str = "", **data) -> None:
    """In the caller's unit of work."""
    db.session.add(CampaignEvent(campaign_id=campaign_id, type=type_, from_status=from_status, to_status=to_status,
                                 actor_id=actor_id, reason=reason, data=data))


def created(campaign_id: int, *, actor_id: int) -> None:
    record(campaign_id, CREATED, actor_id=actor_id, to_status="draft")


def edited(campaign_id: int, *, actor_id: int, fields: list[str]) -> None:
    record(campaign_id, EDITED, actor_id=actor_id, fields=fields)


def supply_committed(campaign_id: int, *, actor_id: int, commitment_id: int, supplier_id: int, grade: str,
                     quantity: int, previous_quantity: int | None) -> None:
    record(campaign_id, SUPPLY_COMMITTED, actor_id=actor_id, commitment_id=commitment_id, supplier_id=supplier_id,
           grade=grade, quantity=quantity, previous_quantity=previous_quantity)


def supply_withdrawn(campaign_id: int, *, actor_id: int, commitment_id: int, supplier_id: int, grade: str,
                     previous_quantity: int) -> None:
    record(campaign_id, SUPPLY_WITHDRAWN, actor_id=actor_id, commitment_id=commitment_id, supplier_id=supplier_id,
           grade=grade, quantity=0, previous_quantity=previous_quantity)


def supply_delivered(campaign_id: int, *, actor_id: int, commitment_id: int, supplier_id: int, grade: str,
                     committed: int, delivered_quantity: int, previous_delivered: int) -> None:
    record(campaign_id, SUPPLY_DELIVERED, actor_id=actor_id, commitment_id=commitment_id, supplier_id=supplier_id,
           grade=grade, committed=committed, delivered_quantity=delivered_quantity,
           previous_delivered=previous_delivered, over_commitment=max(delivered_quantity - committed, 0))


def compensation_paid(campaign_id: int, *, actor_id: int, compensation_id: int, pledge_id: int, amount_fen: int,
                      reference: str) -> None:
    record(campaign_id, COMPENSATION_PAID, actor_id=actor_id, compensation_id=compensation_id, pledge_id=pledge_id,
           amount_fen=amount_fen, reference=reference)
