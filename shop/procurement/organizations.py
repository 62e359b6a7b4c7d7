"""Organisation verbs: registration, review by the platform, payment terms, members. Each write is one unit of work.

Called by the other procurement modules (keyword-only):
    require_role(*, user, organization_id, action) -> OrganizationMember   non-member → 404; too low → 403
    get_organization(*, organization_id) -> Organization                  404 when missing
    locked_organization(organization_id) -> Organization                 row lock (PostgreSQL), re-read
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from shop.accounts.permissions import ensure_platform_admin
from shop.accounts.services import find_user_by_email
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import utcnow
from shop.errors import Conflict, Forbidden, NotFound, RoleRequired, ValidationFailed
from shop.extensions import db
from shop.notifications.services import enqueue
from shop.pagination import SortKey, keyset_page
from shop.procurement import error_codes
from shop.procurement.models import (REASON_REQUIRED, REVIEW_STEPS, Organization, OrganizationMember,
                                     OrganizationStatusEvent)
from shop.procurement.roles import LADDER
from shop.regions.services import get_region
from shop.transaction import transaction

EDITABLE_FIELDS = ("name", "kind", "credit_code", "home_region_code", "address", "contact_name", "contact_phone",
                   "has_canteen", "fapiao_title", "taxpayer_id", "fapiao_address_phone", "fapiao_bank_account")
# Who the organisation is and where its purchases count were what the platform approved.
LOCKED_AFTER_APPROVAL = ("credit_code", "home_region_code", "kind")
HOME_REGION_LEVELS = ("province", "city")
AUDITED_REVIEW_FIELDS = ("name", "status", "status_reason")


# --- lookups ------------------------------------------------------------------------------------------------


def get_organization(*, organization_id: int) -> Organization:
    organization = db.session.scalar(select(Organization).where(Organization.id == organization_id)
                                     .options(joinedload(Organization.home_region))
                                     .execution_options(populate_existing=True))
    if organization is None:
        raise NotFound("No such organisation.")
    return organization


def locked_organization(organization_id: int) -> Organization:
    """The row, locked for the rest of the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    writers) and re-read: concurrent reviews, member changes and requisitions on terms see each other."""
    organization = db.session.scalar(select(Organization).where(Organization.id == organization_id)
                                     .with_for_update().execution_options(populate_existing=True))
    if organization is None:
        raise NotFound("No such organisation.")
    return organization


def membership(*, user, organization_id: int) -> OrganizationMember | None:
    if user is None:
        return None
    return db.session.scalar(select(OrganizationMember).where(OrganizationMember.organization_id == organization_id,
                                                              OrganizationMember.user_id == user.id)
                             .execution_options(populate_existing=True))


def require_role(*, user, organization_id: int, action: str) -> OrganizationMember:
    """The one member check. A member of another organisation, like a stranger, gets 404."""
    member = membership(user=user, organization_id=organization_id)
    if member is None:
        raise NotFound("No such organisation.")
    if not LADDER.allows(member.role, action):
        required = LADDER.required_role(action)
        raise RoleRequired(required, f"This needs the {required} role (or higher) in the organisation.")
    return member


def _raise_credit_code_taken():
    raise Conflict("An organisation with this credit code is already registered.",
                   code=error_codes.CREDIT_CODE_TAKEN, errors={"credit_code": ["Already registered."]})


@contextmanager
def _organization_unit():
    """The credit code's unique index is the last word when two registrations race."""
    try:
        with transaction():
            yield
    except IntegrityError:
        _raise_credit_code_taken()


def _check_credit_code_free(credit_code: str, *, organization_id: int | None = None) -> None:
    stmt = select(Organization.id).where(Organization.credit_code == credit_code)
    if organization_id is not None:
        stmt = stmt.where(Organization.id != organization_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        _raise_credit_code_taken()


def _check_home_region(code: str) -> None:
    region = get_region(code=code, field="home_region_code")
    if region.level not in HOME_REGION_LEVELS:
        raise ValidationFailed("The home region is the province or city the purchases count for.",
                               code=error_codes.INVALID_HOME_REGION,
                               errors={"home_region_code": ["A province or a city, not a county."]})


def _record_move(organization: Organization, to_status: str, *, actor, reason: str) -> None:
    db.session.add(OrganizationStatusEvent(organization_id=organization.id, from_status=organization.status,
                                           to_status=to_status, reason=reason,
                                           actor_id=actor.id if actor is not None else None))
    organization.status, organization.status_reason = to_status, reason


# --- registration and review --------------------------------------------------------------------------------


def register_organization(*, user, is_demo: bool = False, **fields) -> Organization:
    """The caller becomes its admin; the organisation is pending until the platform approves it. is_demo is for
    the demo loader only (the HTTP schema does not take it)."""
    with _organization_unit():
        _check_home_region(fields["home_region_code"])
        _check_credit_code_free(fields["credit_code"])
        organization = Organization(status="pending", is_demo=is_demo,
                                    **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
        db.session.add(organization)
        db.session.flush()
        db.session.add(OrganizationMember(organization_id=organization.id, user_id=user.id, role="admin"))
        db.session.add(OrganizationStatusEvent(organization_id=organization.id, from_status=None,
                                               to_status="pending", reason="Application submitted.",
                                               actor_id=user.id))
    return get_organization(organization_id=organization.id)


def update_organization(*, user, organization_id: int, changes: dict) -> Organization:
    """Admins edit; credit code, home region and kind are locked once approved. Editing a rejected application
    re-submits it."""
    with _organization_unit():
        require_role(user=user, organization_id=organization_id, action="edit_organization")
        organization = locked_organization(organization_id)
        changes = {field: value for field, value in changes.items() if field in EDITABLE_FIELDS}
        locked = [f for f in LOCKED_AFTER_APPROVAL if f in changes and changes[f] != getattr(organization, f)]
        if locked and organization.status in ("approved", "suspended"):
            raise Conflict("These fields cannot change after approval.", code=error_codes.LOCKED_AFTER_APPROVAL,
                           errors={field: ["Locked after approval."] for field in locked})
        if "home_region_code" in changes:
            _check_home_region(changes["home_region_code"])
        if "credit_code" in changes:
            _check_credit_code_free(changes["credit_code"], organization_id=organization_id)
        for field, value in changes.items():
            setattr(organization, field, value)
        if organization.status == "rejected":
            _record_move(organization, "pending", actor=user, reason="Re-applied after editing.")
    return get_organization(organization_id=organization_id)


def review_organization(*, organization_id: int, actor, action: str, reason: str = "") -> Organization:
    """The platform's step, with the suppliers' words: approve, reject, suspend, reinstate."""
    ensure_platform_admin(actor)
    if action not in REVIEW_STEPS:
        raise ValidationFailed("Unknown review action.", errors={"action": [f"One of {', '.join(REVIEW_STEPS)}."]})
    reason = reason.strip()
    if action in REASON_REQUIRED and not reason:
        raise ValidationFailed("Say why: the organisation is told the reason.", code=error_codes.REASON_REQUIRED,
                               errors={"reason": [f"Required to {action}."]})
    with transaction() as tx:
        organization = locked_organization(organization_id)
        before = audit.snapshot(organization, AUDITED_REVIEW_FIELDS)
        from_statuses, to_status = REVIEW_STEPS[action]
        if organization.status not in from_statuses:
            raise Conflict(f"Cannot {action} a {organization.status} organisation.",
                           code=error_codes.ILLEGAL_ORGANIZATION_TRANSITION)
        _record_move(organization, to_status, actor=actor, reason=reason)
        organization.reviewed_at = utcnow()
        audit.record(tx, actor=actor, action=audit_actions.ORGANIZATION_REVIEWED[action], target_type="organization",
                     target_id=organization.id, before=before,
                     after=audit.snapshot(organization, AUDITED_REVIEW_FIELDS), keep=("name",))
        for admin in _admins(organization_id):
            enqueue(email=admin.user.email, user_id=admin.user_id, template=f"organization_{action}",
                    subject=f"采购单位审核：{organization.name} / Organisation review: {to_status}",
                    body=f"{organization.name} 的状态已变为 {to_status}。{reason}")
    return get_organization(organization_id=organization_id)


def set_payment_terms(*, organization_id: int, actor, payment_terms: str) -> Organization:
    """The platform grants (or withdraws) terms: prepaid means card only."""
    ensure_platform_admin(actor)
    with transaction() as tx:
        organization = locked_organization(organization_id)
        before = audit.snapshot(organization, ("name", "payment_terms"))
        organization.payment_terms = payment_terms
        audit.record(tx, actor=actor, action=audit_actions.ORGANIZATION_PAYMENT_TERMS_SET, target_type="organization",
                     target_id=organization.id, before=before, keep=("name", "payment_terms"),
                     after=audit.snapshot(organization, ("name", "payment_terms")))
    return get_organization(organization_id=organization_id)


# --- reading ------------------------------------------------------------------------------------------------


def view_organization(*, viewer, organization_id: int) -> Organization:
    if not (viewer is not None and viewer.is_platform_admin):
        require_role(user=viewer, organization_id=organization_id, action="view")
    return get_organization(organization_id=organization_id)


def list_organizations(*, viewer, mine: bool = False, status: str | None = None, limit: int,
                       cursor: str | None):
    """Members list theirs; platform admins list every one (the review queue with status=pending)."""
    stmt = select(Organization).options(joinedload(Organization.home_region))
    if mine or not viewer.is_platform_admin:
        stmt = stmt.where(Organization.id.in_(select(OrganizationMember.organization_id)
                                              .where(OrganizationMember.user_id == viewer.id)))
    if status:
        stmt = stmt.where(Organization.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Organization.id, lambda o: o.id)], limit=limit,
                       cursor=cursor)


def list_status_events(*, viewer, organization_id: int) -> list[OrganizationStatusEvent]:
    view_organization(viewer=viewer, organization_id=organization_id)
    return list(db.session.scalars(select(OrganizationStatusEvent).where(
        OrganizationStatusEvent.organization_id == organization_id).order_by(OrganizationStatusEvent.id)))


# --- members ------------------------------------------------------------------------------------------------


def _member_query():
    return select(OrganizationMember).options(joinedload(OrganizationMember.user))


def _admins(organization_id: int) -> list[OrganizationMember]:
    return list(db.session.scalars(_member_query().where(OrganizationMember.organization_id == organization_id,
                                                         OrganizationMember.role == "admin")))


def members_who_may(organization_id: int, action: str) -> list[OrganizationMember]:
    """Members whose role allows `action` (to tell approvers of a requisition waiting for them)."""
    roles = [role for role in LADDER.order if LADDER.allows(role, action)]
    return list(db.session.scalars(_member_query().where(OrganizationMember.organization_id == organization_id,
                                                         OrganizationMember.role.in_(roles))
                                   .order_by(OrganizationMember.id)))


def list_members(*, viewer, organization_id: int, limit: int, cursor: str | None):
    require_role(user=viewer, organization_id=organization_id, action="view_members")
    stmt = _member_query().where(OrganizationMember.organization_id == organization_id)
    return keyset_page(db.session, stmt, keys=[SortKey(OrganizationMember.id, lambda m: m.id)], limit=limit,
                       cursor=cursor)


def add_member(*, user, organization_id: int, email: str, role: str, spending_limit_fen: int = 0
               ) -> OrganizationMember:
    with transaction():
        require_role(user=user, organization_id=organization_id, action="manage_members")
        new_user = find_user_by_email(email)
        if new_user is None:
            raise ValidationFailed("No account uses this email; ask them to register first.",
                                   code=error_codes.UNKNOWN_USER, errors={"email": ["No account with this email."]})
        member = OrganizationMember(organization_id=organization_id, user_id=new_user.id, role=role,
                                    spending_limit_fen=spending_limit_fen)
        with transaction(conflict=error_codes.ALREADY_MEMBER, conflict_detail="This user is already a member."):
            db.session.add(member)
        organization = db.session.get(Organization, organization_id)
        enqueue(email=new_user.email, user_id=new_user.id, template="organization_membership",
                subject=f"您已被加入采购单位 {organization.name} / Added to an organisation",
                body=f"{user.display_name} 将您以 {role} 身份加入了 {organization.name}。如非您本人同意，可在成员列表中退出。")
    return db.session.scalar(_member_query().where(OrganizationMember.id == member.id))


def _member_of(organization_id: int, member_id: int) -> OrganizationMember:
    member = db.session.scalar(_member_query().where(OrganizationMember.id == member_id)
                               .execution_options(populate_existing=True))
    if member is None or member.organization_id != organization_id:
        raise NotFound("No such member.")
    return member


def _keep_an_admin(organization_id: int) -> None:
    admins = db.session.scalar(select(func.count()).select_from(OrganizationMember).where(
        OrganizationMember.organization_id == organization_id, OrganizationMember.role == "admin"))
    if admins <= 1:
        raise Conflict("An organisation keeps at least one admin.", code=error_codes.LAST_ADMIN)


def change_member(*, user, organization_id: int, member_id: int, changes: dict) -> OrganizationMember:
    """Admins change a member's role or spending limit; the member is told."""
    with transaction():
        require_role(user=user, organization_id=organization_id, action="manage_members")
        locked_organization(organization_id)  # two admins demoting each other at once must not leave none
        member = _member_of(organization_id, member_id)
        if member.user_id == user.id and changes.get("spending_limit_fen", member.spending_limit_fen) != \
                member.spending_limit_fen:
            raise Forbidden("Another admin sets your spending limit.", code=error_codes.OWN_LIMIT)
        if changes.get("role", member.role) != member.role and member.role == "admin":
            _keep_an_admin(organization_id)
        for field in ("role", "spending_limit_fen"):
            if field in changes:
                setattr(member, field, changes[field])
        enqueue(email=member.user.email, user_id=member.user_id, template="organization_membership_changed",
                subject="您在采购单位中的角色或限额已变更 / Your role or limit changed",
                body=f"角色 role: {member.role}; 单笔限额 limit: {member.spending_limit_fen} 分")
    return _member_of(organization_id, member_id)


def remove_member(*, user, organization_id: int, member_id: int) -> None:
    """Admins remove anyone; every member may leave. The last admin stays."""
    with transaction():
        member = db.session.get(OrganizationMember, member_id)
        leaving = member is not None and member.organization_id == organization_id and member.user_id == user.id
        if not leaving:
            require_role(user=user, organization_id=organization_id, action="manage_members")
        locked_organization(organization_id)
        member = _member_of(organization_id, member_id)
        if member.role == "admin":
            _keep_an_admin(organization_id)
        db.session.delete(member)

