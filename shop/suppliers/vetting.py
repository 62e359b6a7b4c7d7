"""The county step of supplier vetting: county reviewers, their queue, and their recommendation.

A platform admin appoints a user as the county reviewer of one district. The reviewer sees and acts on the
applicants registered in that district only; to the reviewer every other supplier does not exist (404). The
platform then approves recommended applicants (services.review_supplier). Each step is a status event.

    appoint_reviewer(*, actor, email, district_code) -> CountyReviewer      platform admins
    revoke_reviewer(*, actor, reviewer_id) -> None                          platform admins
    list_reviewers(*, actor, district=None, limit, cursor)                  platform admins
    review_queue(*, user, status="pending", limit, cursor)                  the reviewer's district, oldest first
    county_review(*, user, supplier_id, action, reason="") -> Supplier      action: recommend | reject
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.accounts.models import User
from shop.accounts.services import normalise_email
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.errors import NotFound, RoleRequired, ValidationFailed
from shop.extensions import db
from shop.notifications.services import enqueue
from shop.pagination import SortKey, keyset_page
from shop.regions.services import get_region
from shop.suppliers.models import REVIEW_STEPS, CountyReviewer, Supplier
from shop.suppliers.services import (_locked_supplier, _require_admin, check_review_step, get_supplier,
                                     take_review_step)
from shop.transaction import transaction

COUNTY_ACTIONS = [verb for by, verb in REVIEW_STEPS if by == "county"]
QUEUE_STATUSES = ("pending", "recommended", "rejected")  # what a reviewer may look back on


def credit_code_region(credit_code: str) -> str:
    """Characters 3-8 of a 统一社会信用代码: the code of the region where it was registered (GB 32100-2015)."""
    return credit_code[2:8]


def region_mismatch(supplier: Supplier) -> bool:
    """Registered elsewhere than the district it applies in: a flag for the reviewer, not a refusal (companies
    move, and codes issued before a district was re-coded keep the old region)."""
    return credit_code_region(supplier.credit_code) != supplier.district_code


# --- appointments -------------------------------------------------------------------------------------------


def _reviewer_query():
    return select(CountyReviewer).options(joinedload(CountyReviewer.user), joinedload(CountyReviewer.district))


def _audited(reviewer: CountyReviewer, email: str) -> dict:
    return {"user_id": reviewer.user_id, "email": email, "district_code": reviewer.district_code}


def appoint_reviewer(*, actor, email: str, district_code: str) -> CountyReviewer:
    _require_admin(actor)
    with transaction() as tx:
        get_region(code=district_code, field="district_code", reservoir_only=True)
        user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
        if user is None:
            raise ValidationFailed("No account uses this email; ask them to register first.", code="unknown_user",
                                   errors={"email": ["No account with this email."]})
        reviewer = CountyReviewer(user_id=user.id, district_code=district_code, appointed_by_id=actor.id)
        # user_id is unique: a reviewer serves one district (revoke first to move them).
        with transaction(conflict="already_appointed",
                         conflict_detail="This user is already a county reviewer; revoke that first."):
            db.session.add(reviewer)
        audit.record(tx, actor=actor, action=audit_actions.COUNTY_REVIEWER_APPOINTED, target_type="county_reviewer",
                     target_id=reviewer.id, after=_audited(reviewer, user.email))
        enqueue(email=user.email, user_id=user.id, template="county_reviewer_appointed",
                subject="您已被任命为区县供货企业审核人 / Appointed county reviewer",
                body=f"{actor.display_name} 任命您审核区县 {district_code} 的供货企业申请。")
    return db.session.scalar(_reviewer_query().where(CountyReviewer.id == reviewer.id))


def revoke_reviewer(*, actor, reviewer_id: int) -> None:
    _require_admin(actor)
    with transaction() as tx:
        reviewer = db.session.get(CountyReviewer, reviewer_id)
        if reviewer is None:
            raise NotFound("No such county reviewer.")
        audit.record(tx, actor=actor, action=audit_actions.COUNTY_REVIEWER_REVOKED, target_type="county_reviewer",
                     target_id=reviewer.id, before=_audited(reviewer, db.session.get(User, reviewer.user_id).email))
        db.session.delete(reviewer)


def list_reviewers(*, actor, district: str | None = None, limit: int, cursor: str | None):
    _require_admin(actor)
    stmt = _reviewer_query()
    if district:
        stmt = stmt.where(CountyReviewer.district_code == district)
    return keyset_page(db.session, stmt, keys=[SortKey(CountyReviewer.id, lambda r: r.id)], limit=limit,
                       cursor=cursor)


# --- the county's step --------------------------------------------------------------------------------------


def _reviewer_district(user) -> str:
    """The district the user reviews; 403 role_required (county_reviewer) for anyone else."""
    district = None if user is None else db.session.scalar(
        select(CountyReviewer.district_code).where(CountyReviewer.user_id == user.id))
    if district is None:
        raise RoleRequired("county_reviewer", "Only a county reviewer does this.")
    return district


def review_queue(*, user, status: str = "pending", limit: int, cursor: str | None):
    """The district's applicants in `status`, oldest first (first come, first reviewed)."""
    district = _reviewer_district(user)
    stmt = (select(Supplier).where(Supplier.district_code == district, Supplier.status == status)
            .options(joinedload(Supplier.district)))
    return keyset_page(db.session, stmt, keys=[SortKey(Supplier.id, lambda s: s.id)], limit=limit, cursor=cursor)


def county_review(*, user, supplier_id: int, action: str, reason: str = "") -> Supplier:
    reason = check_review_step("county", action, reason)
    with transaction():
        district = _reviewer_district(user)
        # Locked and re-read: two reviewers (or a double submit) recommending at once move it once.
        supplier = _locked_supplier(supplier_id)
        if supplier.district_code != district:
            raise NotFound("No such supplier.")  # another district's applicant does not exist for this reviewer
        take_review_step(supplier, "county", action, actor=user, reason=reason)
    return get_supplier(supplier_id=supplier_id)
