"""Supplier verbs: onboarding, review, members, shipping rules. Each write is one unit of work (shop.transaction).

Called by other domains (stable; keyword-only):
    get_supplier(*, supplier_id) -> Supplier                     404 when missing; district loaded
    require_role(*, user, supplier_id, action) -> str           the member's role; action in roles.PERMISSIONS
                                        non-member → NotFound; role too low → RoleRequired (403 role_required)
    require_member(*, user, supplier_id, action="view") -> Supplier     require_role, then the supplier
    member_supplier_ids(*, user) -> list[int]
    is_member(*, user, supplier_id) -> bool
    ensure_can_publish(*, supplier) -> None                      Conflict supplier_not_approved unless approved
    create_supplier(*, user, name, kind, credit_code, district_code, contact_name, contact_phone, address,
                    sc_license_number=None, food_filing_number=None, farmer_linkage="",
                    represented_producers=(), is_demo=False) -> Supplier   caller becomes owner; pending
    review_supplier(*, supplier_id, actor, action, reason="") -> Supplier
                                                                 platform admins; action in REVIEW_ACTIONS
    shipping_rules_for(*, supplier_ids) -> dict[int, ShippingRule]   one query, for checkout
    supplier_names(*, supplier_ids) -> dict[int, str]            one query, for statements and reports
    quote_shipping(rule, *, subtotal_fen, weight_g, cold_chain, region_codes) -> int   pure; fen
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from shop.accounts.models import User
from shop.accounts.permissions import visible_or_404
from shop.accounts.services import normalise_email
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import utcnow
from shop.errors import Conflict, Forbidden, NotFound, RoleRequired, Unauthorized, ValidationFailed
from shop.extensions import db
from shop.notifications.services import enqueue
from shop.pagination import SortKey, keyset_page
from shop.regions.models import Region
from shop.regions.services import get_region
from shop.suppliers.models import (REASON_REQUIRED, REVIEW_STEPS, CountyReviewer, ShippingRule, Supplier,
                                    SupplierMember, SupplierStatusEvent)
from shop.suppliers import roles
from shop.suppliers.signals import supplier_renamed
from shop.transaction import transaction

# The platform's verbs on /review (the county's are in shop.suppliers.vetting); steps are data in models.
REVIEW_ACTIONS = [verb for by, verb in REVIEW_STEPS if by == "platform"]
# Who the supplier is and where it is registered were what the county recommended and the platform approved.
LOCKED_AFTER_APPROVAL = ("credit_code", "district_code", "kind")
EDITABLE_FIELDS = ("name", "kind", "credit_code", "district_code", "contact_name", "contact_phone", "address",
                   "sc_license_number", "food_filing_number", "farmer_linkage", "represented_producers")
GRAMS_PER_KG = 1000
AUDITED_REVIEW_FIELDS = ("name", "status", "status_reason")  # what a review changes, and who


# --- lookups other domains use ------------------------------------------------------------------------------


def get_supplier(*, supplier_id: int) -> Supplier:
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == supplier_id)
                                 .options(joinedload(Supplier.district))
                                 .execution_options(populate_existing=True))
    if supplier is None:
        raise NotFound("No such supplier.")
    return supplier


def _member_role(user, supplier_id: int) -> str | None:
    if user is None:
        return None
    return db.session.scalar(select(SupplierMember.role).where(SupplierMember.supplier_id == supplier_id,
                                                               SupplierMember.user_id == user.id))


def require_role(*, user, supplier_id: int, action: str) -> str:
    """The one member check: every domain asks for an action of roles.PERMISSIONS, never for a role."""
    role = _member_role(user, supplier_id)
    if role is None:
        raise NotFound("No such supplier.")  # someone else's supplier is indistinguishable from a missing one
    if not roles.allows(role, action):
        raise RoleRequired(roles.required_role(action))
    return role


def require_member(*, user, supplier_id: int, action: str = "view") -> Supplier:
    require_role(user=user, supplier_id=supplier_id, action=action)
    return get_supplier(supplier_id=supplier_id)


def member_supplier_ids(*, user) -> list[int]:
    """A read, in whatever transaction the caller has open (fulfilment and refunds call it inside theirs)."""
    return list(db.session.scalars(select(SupplierMember.supplier_id).where(SupplierMember.user_id == user.id)
                                   .order_by(SupplierMember.supplier_id)))


def supplier_names(*, supplier_ids) -> dict[int, str]:
    """The current names of several suppliers in one query (ids that do not exist are left out)."""
    ids = set(supplier_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(ids))).all())


def supplier_districts(*, supplier_ids) -> dict[int, str]:
    """id → registered district code of several suppliers in one query."""
    ids = set(supplier_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Supplier.id, Supplier.district_code).where(Supplier.id.in_(ids))).all())


def owners(*, supplier_ids) -> list[tuple[int, User]]:
    """(supplier id, owner) of each supplier, in one query: who is told about the supplier's orders and campaigns."""
    ids = set(supplier_ids)
    if not ids:
        return []
    rows = db.session.execute(select(SupplierMember.supplier_id, User).join(User, User.id == SupplierMember.user_id)
                              .where(SupplierMember.supplier_id.in_(ids), SupplierMember.role == "owner")
                              .order_by(SupplierMember.supplier_id, User.id))
    return [(supplier_id, user) for supplier_id, user in rows]


def is_member(*, user, supplier_id: int) -> bool:
    """A read, in whatever transaction the caller has open."""
    return _member_role(user, supplier_id) is not None


def ensure_can_publish(*, supplier: Supplier) -> None:
    if not supplier.is_approved():
        raise Conflict("The supplier is not approved, so it cannot sell.", code="supplier_not_approved")


def _sees_everything(viewer, supplier_id: int) -> bool:
    """Members, platform admins and the county reviewer of its district see a supplier in any state, with its
    contact details (the reviewer checks them before recommending)."""
    return viewer is not None and (viewer.is_platform_admin or is_member(user=viewer, supplier_id=supplier_id)
                                   or _reviews_district_of(viewer, supplier_id))


def _reviews_district_of(viewer, supplier_id: int) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(CountyReviewer).join(Supplier, Supplier.district_code
                                                              == CountyReviewer.district_code)
        .where(CountyReviewer.user_id == viewer.id, Supplier.id == supplier_id)) > 0


def _require_admin(viewer) -> None:
    if viewer is None:
        raise Unauthorized()
    if not viewer.is_platform_admin:
        raise Forbidden("Platform administrators only.", code="admin_only")


def _locked_supplier(supplier_id: int) -> Supplier:
    """The supplier row, locked for the rest of the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers) and re-read, so concurrent reviews or member removals cannot both pass their checks."""
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == supplier_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if supplier is None:
        raise NotFound("No such supplier.")
    return supplier


# --- validation shared by create and update -----------------------------------------------------------------


def _check_producers(kind: str, producers: list) -> None:
    # Only a trading agent sells for others, and it must say for whom (the county vets those producers).
    if kind == "trading_agent" and not producers:
        raise ValidationFailed("A trading agent must name the producers it sells for.", code="producers_required",
                               errors={"represented_producers": ["Name at least one producer."]})
    if kind != "trading_agent" and producers:
        raise ValidationFailed("Only trading agents represent other producers.", code="producers_not_allowed",
                               errors={"represented_producers": ["Only for kind trading_agent."]})


def _check_credit_code_free(credit_code: str, *, supplier_id: int | None = None) -> None:
    stmt = select(Supplier.id).where(Supplier.credit_code == credit_code)
    if supplier_id is not None:
        stmt = stmt.where(Supplier.id != supplier_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        _raise_credit_code_taken()


def _raise_credit_code_taken():
    raise Conflict("A supplier with this credit code is already registered.", code="credit_code_taken",
                   errors={"credit_code": ["Already registered."]})


@contextmanager
def _supplier_unit():
    """A unit of work writing a supplier: the credit code's unique index is the last word when two
    registrations race (409 credit_code_taken, with the field error that the check before it gives)."""
    try:
        with transaction():
            yield
    except IntegrityError:
        _raise_credit_code_taken()


def _producers(producers) -> list[dict]:
    return [{"name": p["name"], "credit_code": p.get("credit_code")} for p in producers]


def _record_move(supplier: Supplier, to_status: str, *, actor, reason: str) -> None:
    db.session.add(SupplierStatusEvent(supplier_id=supplier.id, from_status=supplier.status, to_status=to_status,
                                       reason=reason, actor_id=actor.id if actor is not None else None))
    supplier.status = to_status
    supplier.status_reason = reason


# --- onboarding and review ----------------------------------------------------------------------------------


def create_supplier(*, user, name: str, kind: str, credit_code: str, district_code: str, contact_name: str,
                    contact_phone: str, address: str, sc_license_number: str | None = None,
                    food_filing_number: str | None = None, farmer_linkage: str = "",
                    represented_producers=(), is_demo: bool = False) -> Supplier:
    """is_demo is for the demo loader only: the HTTP schema does not accept it."""
    with _supplier_unit():
        get_region(code=district_code, field="district_code", reservoir_only=True)
        _check_producers(kind, represented_producers)
        _check_credit_code_free(credit_code)
        supplier = Supplier(name=name, kind=kind, credit_code=credit_code, district_code=district_code,
                            contact_name=contact_name, contact_phone=contact_phone, address=address,
                            sc_license_number=sc_license_number, food_filing_number=food_filing_number,
                            farmer_linkage=farmer_linkage, represented_producers=_producers(represented_producers),
                            is_demo=is_demo, status="pending")
        db.session.add(supplier)
        db.session.flush()
        db.session.add(SupplierMember(supplier_id=supplier.id, user_id=user.id, role="owner"))
        db.session.add(SupplierStatusEvent(supplier_id=supplier.id, from_status=None, to_status="pending",
                                           reason="Application submitted.", actor_id=user.id))
    return get_supplier(supplier_id=supplier.id)


def check_review_step(by: str, action: str, reason: str) -> str:
    """The reason, stripped; 422 for an unknown verb or a missing reason (before any transaction)."""
    verbs = [verb for kind, verb in REVIEW_STEPS if kind == by]
    if action not in verbs:
        raise ValidationFailed("Unknown review action.", errors={"action": [f"One of {', '.join(verbs)}."]})
    reason = reason.strip()
    if action in REASON_REQUIRED and not reason:
        raise ValidationFailed("Say why: the supplier is told the reason.", code="reason_required",
                               errors={"reason": [f"Required to {action}."]})
    return reason


def take_review_step(supplier: Supplier, by: str, action: str, *, actor, reason: str) -> None:
    """One vetting step on a supplier locked by the caller: 409 unless the step starts from its status."""
    from_statuses, to_status = REVIEW_STEPS[(by, action)]
    if supplier.status not in from_statuses or not supplier.can_move_to(to_status):
        needs = " It needs its county's recommendation first." if (by, action, supplier.status) == (
            "platform", "approve", "pending") else ""
        raise Conflict(f"Cannot {action} a {supplier.status} supplier.{needs}", code="illegal_supplier_transition")
    _record_move(supplier, to_status, actor=actor, reason=reason)
    supplier.reviewed_at = utcnow()


def review_supplier(*, supplier_id: int, actor, action: str, reason: str = "") -> Supplier:
    """The platform's step: approve recommended applicants, reject, suspend, reinstate."""
    _require_admin(actor)
    reason = check_review_step("platform", action, reason)
    with transaction() as tx:
        supplier = _locked_supplier(supplier_id)
        before = audit.snapshot(supplier, AUDITED_REVIEW_FIELDS)
        take_review_step(supplier, "platform", action, actor=actor, reason=reason)
        audit.record(tx, actor=actor, action=audit_actions.SUPPLIER_REVIEWED[action], target_type="supplier",
                     target_id=supplier.id, before=before, after=audit.snapshot(supplier, AUDITED_REVIEW_FIELDS),
                     keep=("name",))
    return get_supplier(supplier_id=supplier_id)


def update_supplier(*, user, supplier_id: int, changes: dict) -> Supplier:
    """Owners edit; credit code, district and kind are locked once approved. Editing a rejected application
    re-submits it (back to pending)."""
    with _supplier_unit():
        require_role(user=user, supplier_id=supplier_id, action="edit_supplier")
        supplier = _locked_supplier(supplier_id)
        changes = {field: value for field, value in changes.items() if field in EDITABLE_FIELDS}
        locked = [f for f in LOCKED_AFTER_APPROVAL if f in changes and changes[f] != getattr(supplier, f)]
        if locked and supplier.status in ("recommended", "approved", "suspended"):
            raise Conflict("These fields cannot change after approval.", code="locked_after_approval",
                           errors={field: ["Locked after approval."] for field in locked})
        if "district_code" in changes:
            get_region(code=changes["district_code"], field="district_code", reservoir_only=True)
        if "represented_producers" in changes:
            changes["represented_producers"] = _producers(changes["represented_producers"])
        _check_producers(changes.get("kind", supplier.kind),
                         changes.get("represented_producers", supplier.represented_producers))
        if "credit_code" in changes:
            _check_credit_code_free(changes["credit_code"], supplier_id=supplier_id)
        old_name = supplier.name
        for field, value in changes.items():
            setattr(supplier, field, value)
        if supplier.name != old_name:
            db.session.flush()
            supplier_renamed.send(supplier_id, old_name=old_name, new_name=supplier.name)
        if supplier.status == "rejected":
            _record_move(supplier, "pending", actor=user, reason="Re-applied after editing.")
    return get_supplier(supplier_id=supplier_id)


# --- reading ------------------------------------------------------------------------------------------------


def view_supplier(*, viewer, supplier_id: int) -> tuple[Supplier, bool]:
    """The supplier and whether the viewer sees its private fields. Anyone sees an approved supplier; members
    and admins see theirs in any state; to everyone else it does not exist."""
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == supplier_id)
                                 .options(joinedload(Supplier.district)))
    full = supplier is not None and _sees_everything(viewer, supplier_id)
    visible_or_404(supplier, full or (supplier is not None and supplier.is_approved()), "supplier")
    return supplier, full


def list_suppliers(*, viewer, mine: bool = False, status: str | None = None, district: str | None = None,
                   kind: str | None = None, q: str | None = None, limit: int, cursor: str | None):
    stmt = select(Supplier).options(joinedload(Supplier.district))
    if mine:
        if viewer is None:
            raise Unauthorized()
        stmt = stmt.where(Supplier.id.in_(select(SupplierMember.supplier_id)
                                          .where(SupplierMember.user_id == viewer.id)))
        if status:
            stmt = stmt.where(Supplier.status == status)
    else:
        if status not in (None, "approved"):
            _require_admin(viewer)  # the review queue is the platform's
        stmt = stmt.where(Supplier.status == (status or "approved"))
    if district:
        stmt = stmt.where(Supplier.district_code == district)
    if kind:
        stmt = stmt.where(Supplier.kind == kind)
    if q:
        stmt = stmt.where(Supplier.name.icontains(q, autoescape=True))
    return keyset_page(db.session, stmt, keys=[SortKey(Supplier.id, lambda s: s.id, descending=True)], limit=limit,
                       cursor=cursor)


def _require_member_or_admin(viewer, supplier_id: int) -> None:
    if viewer is not None and viewer.is_platform_admin:
        get_supplier(supplier_id=supplier_id)  # still 404 for a missing one
    elif not is_member(user=viewer, supplier_id=supplier_id):
        raise NotFound("No such supplier.")


def list_status_events(*, viewer, supplier_id: int, limit: int, cursor: str | None):
    """The vetting history with reasons: for members, admins and the county reviewer of the district."""
    if viewer is None or not _reviews_district_of(viewer, supplier_id):
        _require_member_or_admin(viewer, supplier_id)
    stmt = select(SupplierStatusEvent).where(SupplierStatusEvent.supplier_id == supplier_id)
    return keyset_page(db.session, stmt, keys=[SortKey(SupplierStatusEvent.id, lambda e: e.id)], limit=limit,
                       cursor=cursor)


# --- members ------------------------------------------------------------------------------------------------


def list_members(*, viewer, supplier_id: int, limit: int, cursor: str | None):
    _require_member_or_admin(viewer, supplier_id)
    stmt = (select(SupplierMember).where(SupplierMember.supplier_id == supplier_id)
            .options(joinedload(SupplierMember.user)))
    return keyset_page(db.session, stmt, keys=[SortKey(SupplierMember.id, lambda m: m.id)], limit=limit,
                       cursor=cursor)


def add_member(*, user, supplier_id: int, email: str, role: str) -> SupplierMember:
    with transaction():
        require_role(user=user, supplier_id=supplier_id, action="manage_members")
        new_user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
        if new_user is None:
            raise ValidationFailed("No account uses this email; ask them to register first.", code="unknown_user",
                                   errors={"email": ["No account with this email."]})
        member = SupplierMember(supplier_id=supplier_id, user_id=new_user.id, role=role)
        # The (supplier, user) unique constraint; flushed here, so that only this insert maps to already_member.
        with transaction(conflict="already_member", conflict_detail="This user is already a member."):
            db.session.add(member)
        # Nobody is added silently: the new member is told, and may leave (remove_member on themselves).
        supplier = db.session.get(Supplier, supplier_id)
        enqueue(email=new_user.email, user_id=new_user.id, template="supplier_membership",
                subject=f"您已被加入供货企业 {supplier.name} / Added to a supplier",
                body=f"{user.display_name} 将您以 {role} 身份加入了 {supplier.name}。如非您本人同意，可在成员列表中退出。")
    return db.session.scalar(select(SupplierMember).where(SupplierMember.id == member.id)
                             .options(joinedload(SupplierMember.user)))


def remove_member(*, user, supplier_id: int, member_id: int) -> None:
    """Owners remove anyone; every member may remove themselves (leave). The last owner stays."""
    with transaction():
        member = db.session.get(SupplierMember, member_id)
        leaving = member is not None and member.supplier_id == supplier_id and member.user_id == user.id
        if not leaving:
            require_role(user=user, supplier_id=supplier_id, action="manage_members")
        _locked_supplier(supplier_id)  # two owners removing each other at once must not leave none
        member = db.session.get(SupplierMember, member_id)
        if member is None or member.supplier_id != supplier_id:
            raise NotFound("No such member.")
        if member.role == "owner":
            _keep_an_owner(supplier_id)
        db.session.delete(member)


def _keep_an_owner(supplier_id: int) -> None:
    """Before removing or demoting an owner (under the supplier's lock)."""
    owners = db.session.scalar(select(func.count()).select_from(SupplierMember).where(
        SupplierMember.supplier_id == supplier_id, SupplierMember.role == "owner"))
    if owners <= 1:
        raise Conflict("A supplier keeps at least one owner.", code="last_owner")


def change_member_role(*, user, supplier_id: int, member_id: int, role: str) -> SupplierMember:
    """Owners only. The member is told, like a new member is; demoting the last owner is refused."""
    with transaction():
        require_role(user=user, supplier_id=supplier_id, action="manage_members")
        supplier = _locked_supplier(supplier_id)  # two owners demoting each other at once must not leave none
        member = db.session.scalar(select(SupplierMember).where(SupplierMember.id == member_id)
                                   .options(joinedload(SupplierMember.user))
                                   .execution_options(populate_existing=True))
        if member is None or member.supplier_id != supplier_id:
            raise NotFound("No such member.")
        if member.role != role:
            if member.role == "owner":
                _keep_an_owner(supplier_id)
            old_role, member.role = member.role, role
            enqueue(email=member.user.email, user_id=member.user_id, template="supplier_membership_role",
                    subject=f"您在 {supplier.name} 的角色已变更 / Your role at a supplier changed",
                    body=f"{user.display_name} 将您在 {supplier.name} 的角色由 {old_role} 改为 {role}。")
    return db.session.scalar(select(SupplierMember).where(SupplierMember.id == member_id)
                             .options(joinedload(SupplierMember.user)))


# --- shipping -----------------------------------------------------------------------------------------------


def get_shipping_rule(*, viewer, supplier_id: int) -> ShippingRule:
    _require_member_or_admin(viewer, supplier_id)
    rule = db.session.get(ShippingRule, supplier_id)
    if rule is None:
        raise NotFound("No shipping rule yet: shipping is free everywhere.", code="no_shipping_rule")
    return rule


def set_shipping_rule(*, user, supplier_id: int, base_fee_fen: int, base_weight_g: int, per_extra_kg_fen: int,
                      cold_chain_surcharge_fen: int = 0, free_over_fen: int | None = None,
                      excluded_region_codes=()) -> ShippingRule:
    codes = sorted(set(excluded_region_codes))
    with transaction():
        require_role(user=user, supplier_id=supplier_id, action="set_shipping_rule")
        known = set(db.session.scalars(select(Region.code).where(Region.code.in_(codes)))) if codes else set()
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValidationFailed("Unknown region codes.", code="invalid_region",
                                   errors={"excluded_region_codes": [f"Unknown region code {c}." for c in unknown]})
        _locked_supplier(supplier_id)  # the first PUT inserts: two at once must not both insert
        rule = db.session.get(ShippingRule, supplier_id) or ShippingRule(supplier_id=supplier_id)
        db.session.add(rule)
        rule.base_fee_fen = base_fee_fen
        rule.base_weight_g = base_weight_g
        rule.per_extra_kg_fen = per_extra_kg_fen
        rule.cold_chain_surcharge_fen = cold_chain_surcharge_fen
        rule.free_over_fen = free_over_fen
        rule.excluded_region_codes = codes
        rule.updated_at = utcnow()
    return rule


def shipping_rules_for(*, supplier_ids) -> dict[int, ShippingRule]:
    """The rules of several suppliers in one query (a cart spans suppliers); missing ones mean free shipping."""
    ids = set(supplier_ids)
    if not ids:
        return {}
    return {rule.supplier_id: rule for rule in
            db.session.scalars(select(ShippingRule).where(ShippingRule.supplier_id.in_(ids)))}


def quote_shipping(rule: ShippingRule | None, *, subtotal_fen: int, weight_g: int, cold_chain: bool,
                   region_codes: list[str]) -> int:
    """One supplier's shipping fee in fen for goods worth subtotal_fen weighing weight_g, sent to the county whose
    code and ancestors' codes are region_codes. No rule: free. Free shipping (subtotal >= free_over_fen) waives
    the cold-chain surcharge too. Raises ValidationFailed("undeliverable") for an excluded destination."""
    if subtotal_fen < 0 or weight_g < 0:
        raise ValueError("subtotal_fen and weight_g are non-negative")
    if rule is None:
        return 0
    excluded = set(rule.excluded_region_codes or ()) & set(region_codes)
    if excluded:
        raise ValidationFailed("This supplier does not deliver to the destination.", code="undeliverable",
                               errors={"region_codes": [f"Not served: {code}." for code in sorted(excluded)]})
    if rule.free_over_fen is not None and subtotal_fen >= rule.free_over_fen:
        return 0
    extra_g = max(0, weight_g - rule.base_weight_g)
    extra_kg = -(-extra_g // GRAMS_PER_KG)  # every started kilogram counts
    fee = rule.base_fee_fen + extra_kg * rule.per_extra_kg_fen
    if cold_chain:
        fee += rule.cold_chain_surcharge_fen
    return fee
