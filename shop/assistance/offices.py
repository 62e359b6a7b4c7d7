"""Supporter offices: the members of a supporting region's office (对口支援办公室), who export the figures of
the pairs whose supporter is their region or inside it. Platform admins grant and revoke memberships."""
from __future__ import annotations

from sqlalchemy import select

from shop.accounts import services as accounts
from shop.accounts.permissions import ensure_platform_admin, visible_or_404
from shop.assistance import error_codes as codes
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.assistance.models import SupporterOffice
from shop.errors import ValidationFailed
from shop.extensions import db
from shop.pagination import SortKey, keyset_page
from shop.regions import services as regions
from shop.transaction import transaction


def grant(*, actor, user_id: int, region_code: str) -> SupporterOffice:
    ensure_platform_admin(actor)
    with transaction(conflict=codes.DUPLICATE_OFFICE, conflict_detail="That user is already in that office.") as tx:
        if accounts.get_user(user_id=user_id) is None:
            raise ValidationFailed("No such user.", code=codes.UNKNOWN_USER, errors={"user_id": ["Unknown user."]})
        regions.get_region(code=region_code, field="region_code")
        office = SupporterOffice(user_id=user_id, region_code=region_code, granted_by_id=actor.id)
        db.session.add(office)
        db.session.flush()  # the duplicate is refused here, before the entry is written
        audit.record(tx, actor=actor, action=audit_actions.SUPPORTER_OFFICE_GRANTED, target_type="supporter_office",
                     target_id=office.id, after=_fields(office))
    return office


def _fields(office: SupporterOffice) -> dict:
    return {"user_id": office.user_id, "region_code": office.region_code}


def list_offices(*, actor, user_id: int | None = None, region_code: str | None = None, limit: int,
                 cursor: str | None):
    ensure_platform_admin(actor)
    stmt = select(SupporterOffice)
    if user_id is not None:
        stmt = stmt.where(SupporterOffice.user_id == user_id)
    if region_code:
        stmt = stmt.where(SupporterOffice.region_code == region_code)
    return keyset_page(db.session, stmt, keys=[SortKey(SupporterOffice.id, lambda o: o.id)], limit=limit,
                       cursor=cursor)


def revoke(*, actor, office_id: int) -> None:
    ensure_platform_admin(actor)
    with transaction() as tx:
        office = visible_or_404(db.session.get(SupporterOffice, office_id), True, "supporter office")
        audit.record(tx, actor=actor, action=audit_actions.SUPPORTER_OFFICE_REVOKED, target_type="supporter_office",
                     target_id=office.id, before=_fields(office))
        db.session.delete(office)


def regions_of(user) -> list[str]:
    """The region codes of the offices the user belongs to."""
    return list(db.session.scalars(select(SupporterOffice.region_code).where(SupporterOffice.user_id == user.id)
                                   .order_by(SupporterOffice.region_code)))
