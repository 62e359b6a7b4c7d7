"""GI records (地理标志) of a product: the supplier claims, an operator verifies or rejects against the registry.

A product may hold one record per scheme. Changing what a record says (number, area) sends it back to
`claimed`, so a verification always covers exactly what the buyer is shown."""
from __future__ import annotations

from sqlalchemy import select, update

from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.catalog.models import GiRecord, Product, months_to_mask
from shop.catalog.queries import get_product, require_member_of
from shop.database import utcnow
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.transaction import transaction

# Operator decisions, as data: (from statuses) → to status.
GI_TRANSITIONS = {"verify": ({"claimed", "rejected"}, "verified"), "reject": ({"claimed", "verified"}, "rejected")}
CLAIM_FIELDS = ("scheme", "number", "protected_area")
AUDITED_REVIEW_FIELDS = ("product_id", "scheme", "number", "status", "review_note")


def list_records(*, user, product_id: int) -> list[GiRecord]:
    """Who may see the product sees its records (claimed, verified and rejected, each with its status)."""
    product = get_product(product_id=product_id, user=user)
    return list(product.gi_records)


def claim_in_unit(product: Product, *, scheme: str, number: str, protected_area: str,
                  harvest_months: list[int] | None = None) -> GiRecord:
    """Add or restate the product's record for `scheme`, in the caller's transaction."""
    record = db.session.scalar(select(GiRecord).where(GiRecord.product_id == product.id, GiRecord.scheme == scheme)
                               .with_for_update())
    mask = months_to_mask(harvest_months) if harvest_months is not None else None
    if record is None:
        record = GiRecord(product_id=product.id, scheme=scheme, number=number, protected_area=protected_area,
                          harvest_months_mask=mask or 0)
        db.session.add(record)
    elif (record.number, record.protected_area) != (number, protected_area):
        record.number, record.protected_area = number, protected_area
        record.status, record.review_note, record.reviewed_by_id, record.reviewed_at = "claimed", "", None, None
    if mask is not None:
        record.harvest_months_mask = mask
    db.session.flush()
    return record


def claim(*, user, product_id: int, scheme: str, number: str, protected_area: str,
          harvest_months: list[int] | None = None) -> GiRecord:
    with transaction():
        product = _member_product(user, product_id)
        record = claim_in_unit(product, scheme=scheme, number=number, protected_area=protected_area,
                               harvest_months=harvest_months)
    return db.session.get(GiRecord, record.id)


def withdraw(*, user, record_id: int) -> None:
    with transaction():
        record = _record(record_id)
        _member_product(user, record.product_id, what="GI record")
        db.session.delete(record)


def review(*, user, record_id: int, action: str, note: str = "") -> GiRecord:
    """An operator's decision; a rejection says why (the supplier reads it)."""
    if not user.is_platform_admin:
        raise NotFound("No such GI record.")
    if action == "reject" and not note.strip():
        raise ValidationFailed("Say why: the supplier is told the reason.", code="reason_required",
                               errors={"note": ["Required to reject."]})
    allowed_from, to_status = GI_TRANSITIONS[action]
    with transaction() as tx:
        record = _record(record_id)
        before = audit.snapshot(record, AUDITED_REVIEW_FIELDS)
        # Compare-and-set: two operators deciding at once cannot both win.
        result = db.session.execute(
            update(GiRecord).where(GiRecord.id == record_id, GiRecord.status.in_(allowed_from))
            .values(status=to_status, review_note=note.strip(), reviewed_by_id=user.id, reviewed_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(f"Cannot {action} a {record.status} GI record.", code="illegal_gi_transition")
        audit.record(tx, actor=user, action=audit_actions.GI_REVIEWED[action], target_type="gi_record",
                     target_id=record_id, before=before,
                     after={**before, "status": to_status, "review_note": note.strip()},
                     keep=("product_id", "scheme", "number"))
    db.session.expire_all()
    return db.session.get(GiRecord, record_id)


def _record(record_id: int) -> GiRecord:
    record = db.session.get(GiRecord, record_id)
    if record is None:
        raise NotFound("No such GI record.")
    return record


def _member_product(user, product_id: int, what: str = "product") -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"No such {what}.")
    require_member_of(user=user, supplier_id=product.supplier_id, what=what, action="edit_listings")
    return product
