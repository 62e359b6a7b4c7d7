"""Supplier factories for any domain's tests."""
from __future__ import annotations

import itertools

from stdnum.cn import uscc

from shop.database import utcnow
from shop.extensions import db
from shop.suppliers import services
from shop.suppliers.models import Supplier, SupplierStatusEvent

_seq = itertools.count(1)


def valid_credit_code(district_code: str = "500237", serial: int | None = None) -> str:
    """A unique, checksum-valid 统一社会信用代码 (enterprise, registered in district_code)."""
    base = f"91{district_code}{serial if serial is not None else next(_seq):09d}"
    return base + uscc.calc_check_digit(base)


def supplier_fields(*, district_code: str = "500237", **overrides) -> dict:
    """A valid registration body (also the create_supplier keyword arguments)."""
    fields = dict(name="巫山脆李合作社", kind="cooperative", credit_code=valid_credit_code(district_code),
                  district_code=district_code, contact_name="李四", contact_phone="+8613812345678",
                  address="巫山县曲尺乡", farmer_linkage="带动 120 户果农")
    fields.update(overrides)
    if fields["kind"] == "trading_agent" and "represented_producers" not in overrides:
        fields["represented_producers"] = [{"name": "巫山县曲尺乡脆李专业合作社", "credit_code": None}]
    return fields


def make_supplier(owner, *, status: str = "approved", district_code: str = "500237", **fields) -> Supplier:
    """A supplier with `owner` as its owner, registered through the service, then put in `status` directly."""
    supplier = services.create_supplier(user=owner, **supplier_fields(district_code=district_code, **fields))
    if status != "pending":
        db.session.add(SupplierStatusEvent(supplier_id=supplier.id, from_status="pending", to_status=status,
                                           reason="test factory", actor_id=None))
        supplier.status = status
        supplier.reviewed_at = utcnow()
        db.session.commit()
    return supplier


def make_reviewer(district_code: str = "500237", user=None):
    """A user appointed county reviewer of district_code (by a fresh platform admin)."""
    from shop.suppliers import vetting
    from tests.support import make_user

    user = user or make_user()
    vetting.appoint_reviewer(actor=make_user(admin=True), email=user.email, district_code=district_code)
    return user


def recommend(supplier_id: int, reason: str = "材料属实") -> Supplier:
    """The county step, as a reviewer of the supplier's district: pending → recommended (platform approves next)."""
    from shop.suppliers import vetting
    from shop.suppliers.models import CountyReviewer

    from shop.accounts.models import User

    supplier = db.session.get(Supplier, supplier_id)
    reviewer_id = db.session.scalar(db.select(CountyReviewer.user_id).where(
        CountyReviewer.district_code == supplier.district_code).limit(1))
    reviewer = db.session.get(User, reviewer_id) if reviewer_id else make_reviewer(supplier.district_code)
    return vetting.county_review(user=reviewer, supplier_id=supplier_id, action="recommend", reason=reason)
