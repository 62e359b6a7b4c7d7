"""Supplier verbs called directly: the rules other domains rely on, and quote_shipping's arithmetic."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from shop.extensions import db
from shop.suppliers import services
from shop.suppliers.models import (REVIEW_STEPS, SUPPLIER_TRANSITIONS, ShippingRule, Supplier, SupplierMember,
                                   SupplierStatusEvent)
from tests.support import make_user
from tests.suppliers.factories import make_supplier, supplier_fields, valid_credit_code


def events_of(supplier_id):
    return list(db.session.scalars(select(SupplierStatusEvent).where(SupplierStatusEvent.supplier_id == supplier_id)
                                   .order_by(SupplierStatusEvent.id)))


def supplier_count():
    return db.session.scalar(select(func.count()).select_from(Supplier))


# --- registration -------------------------------------------------------------------------------------------


def test_create_makes_the_user_owner_and_records_pending():
    owner = make_user()
    supplier = services.create_supplier(user=owner, **supplier_fields())
    assert supplier.status == "pending"
    assert supplier.is_demo is False
    assert supplier.district.name == "巫山县"
    members = db.session.scalars(select(SupplierMember).where(SupplierMember.supplier_id == supplier.id)).all()
    assert [(m.user_id, m.role) for m in members] == [(owner.id, "owner")]
    [event] = events_of(supplier.id)
    assert (event.from_status, event.to_status, event.actor_id) == (None, "pending", owner.id)


def test_duplicate_credit_code_is_conflict():
    code = valid_credit_code()
    services.create_supplier(user=make_user(), **supplier_fields(credit_code=code))
    with pytest.raises(Conflict) as raised:
        services.create_supplier(user=make_user(), **supplier_fields(credit_code=code))
    assert raised.value.code == "credit_code_taken"
    assert supplier_count() == 1


@pytest.mark.parametrize("code", ["500103", "420102", "999999"])  # 渝中区 (Chongqing, not reservoir), 武汉, unknown
def test_district_must_be_a_reservoir_district(code):
    with pytest.raises(ValidationFailed) as raised:
        services.create_supplier(user=make_user(), **supplier_fields(district_code=code))
    assert "district_code" in raised.value.errors
    assert supplier_count() == 0


def test_trading_agent_needs_producers_and_others_may_not_have_them():
    with pytest.raises(ValidationFailed) as raised:
        services.create_supplier(user=make_user(), **supplier_fields(kind="trading_agent", represented_producers=[]))
    assert raised.value.code == "producers_required"
    with pytest.raises(ValidationFailed) as raised:
        services.create_supplier(user=make_user(), **supplier_fields(
            kind="cooperative", represented_producers=[{"name": "某合作社"}]))
    assert raised.value.code == "producers_not_allowed"
    agent = services.create_supplier(user=make_user(), **supplier_fields(kind="trading_agent"))
    assert agent.represented_producers == [{"name": "巫山县曲尺乡脆李专业合作社", "credit_code": None}]


# --- review -------------------------------------------------------------------------------------------------


def test_review_steps_stay_within_the_state_machine():
    for sources, target in REVIEW_STEPS.values():
        assert all(target in SUPPLIER_TRANSITIONS[source] for source in sources)


LEGAL = [("recommended", "approve", "approved"), ("pending", "reject", "rejected"),
         ("recommended", "reject", "rejected"),
         ("approved", "suspend", "suspended"), ("suspended", "reinstate", "approved")]
ILLEGAL = [(status, action) for status in ("pending", "recommended", "approved", "rejected", "suspended")
           for action in services.REVIEW_ACTIONS
           if (status, action) not in {(s, a) for s, a, _ in LEGAL}]


@pytest.mark.parametrize("status, action, target", LEGAL)
def test_legal_moves_record_an_event(status, action, target):
    admin = make_user(admin=True)
    supplier = make_supplier(make_user(), status=status)
    before = len(events_of(supplier.id))
    reviewed = services.review_supplier(supplier_id=supplier.id, actor=admin, action=action, reason="checked")
    assert reviewed.status == target
    assert reviewed.status_reason == "checked"
    assert reviewed.reviewed_at is not None
    events = events_of(supplier.id)
    assert len(events) == before + 1
    assert (events[-1].from_status, events[-1].to_status, events[-1].actor_id, events[-1].reason) == (
        status, target, admin.id, "checked")


@pytest.mark.parametrize("status, action", ILLEGAL)
def test_illegal_moves_are_conflicts_and_change_nothing(status, action):
    supplier = make_supplier(make_user(), status=status)
    before = len(events_of(supplier.id))
    with pytest.raises(Conflict) as raised:
        services.review_supplier(supplier_id=supplier.id, actor=make_user(admin=True), action=action, reason="x")
    assert raised.value.code == "illegal_supplier_transition"
    db.session.rollback()
    assert db.session.get(Supplier, supplier.id).status == status
    assert len(events_of(supplier.id)) == before


@pytest.mark.parametrize("action", ["reject", "suspend"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_and_suspend_need_a_reason(action, reason):
    supplier = make_supplier(make_user(), status="pending" if action == "reject" else "approved")
    with pytest.raises(ValidationFailed) as raised:
        services.review_supplier(supplier_id=supplier.id, actor=make_user(admin=True), action=action, reason=reason)
    assert "reason" in raised.value.errors


def test_approve_needs_no_reason():
    supplier = make_supplier(make_user(), status="recommended")
    assert services.review_supplier(supplier_id=supplier.id, actor=make_user(admin=True),
                                    action="approve").status == "approved"


def test_only_platform_admins_review():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    with pytest.raises(Forbidden) as raised:
        services.review_supplier(supplier_id=supplier.id, actor=owner, action="approve")
    assert raised.value.code == "admin_only"
    with pytest.raises(Unauthorized):
        services.review_supplier(supplier_id=supplier.id, actor=None, action="approve")


def test_review_of_missing_supplier_is_not_found():
    with pytest.raises(NotFound):
        services.review_supplier(supplier_id=999, actor=make_user(admin=True), action="approve")


# --- editing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["approved", "suspended"])
@pytest.mark.parametrize("field, value", [("credit_code", None), ("district_code", "500236"),
                                          ("kind", "family_farm")])
def test_identity_is_locked_after_approval(status, field, value):
    owner = make_user()
    supplier = make_supplier(owner, status=status)
    value = value or valid_credit_code()
    with pytest.raises(Conflict) as raised:
        services.update_supplier(user=owner, supplier_id=supplier.id, changes={field: value})
    assert raised.value.code == "locked_after_approval"
    assert field in raised.value.errors


def test_resending_a_locked_field_unchanged_is_fine():
    owner = make_user()
    supplier = make_supplier(owner)
    updated = services.update_supplier(user=owner, supplier_id=supplier.id,
                                       changes={"credit_code": supplier.credit_code, "name": "新名字"})
    assert updated.name == "新名字"


def test_identity_may_change_while_pending():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    code = valid_credit_code("500236")
    updated = services.update_supplier(user=owner, supplier_id=supplier.id,
                                       changes={"credit_code": code, "district_code": "500236"})
    assert (updated.credit_code, updated.district_code, updated.status) == (code, "500236", "pending")
    assert len(events_of(supplier.id)) == 1  # no move while pending


def test_editing_a_rejected_supplier_reapplies():
    owner = make_user()
    supplier = make_supplier(owner, status="rejected")
    updated = services.update_supplier(user=owner, supplier_id=supplier.id, changes={"farmer_linkage": "更多农户"})
    assert updated.status == "pending"
    last = events_of(supplier.id)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == ("rejected", "pending", owner.id)


def test_credit_code_of_another_supplier_is_taken_on_update():
    taken = make_supplier(make_user()).credit_code
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    with pytest.raises(Conflict) as raised:
        services.update_supplier(user=owner, supplier_id=supplier.id, changes={"credit_code": taken})
    assert raised.value.code == "credit_code_taken"


def test_changing_kind_rechecks_producers():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    with pytest.raises(ValidationFailed) as raised:
        services.update_supplier(user=owner, supplier_id=supplier.id, changes={"kind": "trading_agent"})
    assert raised.value.code == "producers_required"
    updated = services.update_supplier(user=owner, supplier_id=supplier.id, changes={
        "kind": "trading_agent", "represented_producers": [{"name": "农户甲"}]})
    assert updated.represented_producers == [{"name": "农户甲", "credit_code": None}]


def test_update_ignores_fields_that_are_not_editable():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    services.update_supplier(user=owner, supplier_id=supplier.id, changes={"status": "approved", "is_demo": True})
    db.session.expire_all()
    assert (supplier.status, supplier.is_demo) == ("pending", False)


# --- membership helpers -------------------------------------------------------------------------------------


def test_membership_helpers():
    owner, staff, stranger = make_user(), make_user(), make_user()
    first = make_supplier(owner)
    second = make_supplier(owner, status="pending")
    services.add_member(user=owner, supplier_id=first.id, email=staff.email.upper(), role="staff")
    assert services.member_supplier_ids(user=owner) == [first.id, second.id]
    assert services.member_supplier_ids(user=staff) == [first.id]
    assert services.member_supplier_ids(user=stranger) == []
    assert services.is_member(user=staff, supplier_id=first.id)
    assert not services.is_member(user=staff, supplier_id=second.id)
    assert not services.is_member(user=make_user(admin=True), supplier_id=first.id)

    assert services.require_member(user=staff, supplier_id=first.id).id == first.id
    assert services.require_member(user=owner, supplier_id=first.id, action="manage_members").district.code == "500237"
    with pytest.raises(Forbidden) as raised:
        services.require_member(user=staff, supplier_id=first.id, action="manage_members")
    assert raised.value.code == "role_required"
    for user, supplier_id in ((staff, second.id), (stranger, first.id), (owner, 999)):
        with pytest.raises(NotFound):
            services.require_member(user=user, supplier_id=supplier_id)


def test_get_supplier():
    supplier = make_supplier(make_user(), status="suspended")
    assert services.get_supplier(supplier_id=supplier.id).status == "suspended"
    with pytest.raises(NotFound):
        services.get_supplier(supplier_id=999)


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_only_approved_suppliers_may_publish(status):
    services.ensure_can_publish(supplier=make_supplier(make_user()))
    with pytest.raises(Conflict) as raised:
        services.ensure_can_publish(supplier=make_supplier(make_user(), status=status))
    assert raised.value.code == "supplier_not_approved"


def test_members_cannot_be_added_twice_and_the_last_owner_stays():
    owner, other = make_user(), make_user()
    supplier = make_supplier(owner)
    co_owner = services.add_member(user=owner, supplier_id=supplier.id, email=other.email, role="owner")
    with pytest.raises(Conflict) as raised:
        services.add_member(user=owner, supplier_id=supplier.id, email=other.email, role="staff")
    assert raised.value.code == "already_member"
    own_membership = db.session.scalar(select(SupplierMember).where(SupplierMember.user_id == owner.id))
    services.remove_member(user=owner, supplier_id=supplier.id, member_id=own_membership.id)
    with pytest.raises(Conflict) as raised:
        services.remove_member(user=other, supplier_id=supplier.id, member_id=co_owner.id)
    assert raised.value.code == "last_owner"


# --- shipping -----------------------------------------------------------------------------------------------


def rule(**overrides) -> ShippingRule:
    values = dict(base_fee_fen=800, base_weight_g=1000, per_extra_kg_fen=300, cold_chain_surcharge_fen=1500,
                  free_over_fen=None, excluded_region_codes=[])
    values.update(overrides)
    return ShippingRule(**values)


CHONGQING_WUSHAN = ["500237", "500000"]


@pytest.mark.parametrize("weight_g, expected", [
    (0, 800), (999, 800), (1000, 800),  # within the base weight
    (1001, 1100), (2000, 1100),  # one started kilogram
    (2001, 1400), (3500, 1700),  # two, three
])
def test_quote_charges_per_started_kilogram_above_base(weight_g, expected):
    assert services.quote_shipping(rule(), subtotal_fen=5000, weight_g=weight_g, cold_chain=False,
                                   region_codes=CHONGQING_WUSHAN) == expected


def test_quote_adds_the_cold_chain_surcharge():
    assert services.quote_shipping(rule(), subtotal_fen=5000, weight_g=2500, cold_chain=True,
                                   region_codes=CHONGQING_WUSHAN) == 800 + 2 * 300 + 1500


@pytest.mark.parametrize("subtotal_fen, expected", [(9999, 800 + 1500), (10000, 0), (25000, 0)])
def test_quote_is_free_at_or_above_the_threshold(subtotal_fen, expected):
    assert services.quote_shipping(rule(free_over_fen=10000), subtotal_fen=subtotal_fen, weight_g=500,
                                   cold_chain=True, region_codes=CHONGQING_WUSHAN) == expected


def test_quote_with_zero_base_weight_charges_every_started_kilogram():
    assert services.quote_shipping(rule(base_fee_fen=0, base_weight_g=0), subtotal_fen=1, weight_g=1,
                                   cold_chain=False, region_codes=CHONGQING_WUSHAN) == 300


@pytest.mark.parametrize("excluded", [["500237"], ["500000"], ["110000", "500000"]])
def test_quote_refuses_excluded_destinations_even_when_free(excluded):
    with pytest.raises(ValidationFailed) as raised:
        services.quote_shipping(rule(excluded_region_codes=excluded, free_over_fen=0), subtotal_fen=10_000,
                                weight_g=100, cold_chain=False, region_codes=CHONGQING_WUSHAN)
    assert raised.value.code == "undeliverable"


def test_quote_ignores_exclusions_elsewhere_and_no_rule_is_free():
    assert services.quote_shipping(rule(excluded_region_codes=["540000"]), subtotal_fen=1, weight_g=1000,
                                   cold_chain=False, region_codes=CHONGQING_WUSHAN) == 800
    assert services.quote_shipping(None, subtotal_fen=1, weight_g=50_000, cold_chain=True,
                                   region_codes=CHONGQING_WUSHAN) == 0


def test_quote_returns_int_and_rejects_negative_inputs():
    assert type(services.quote_shipping(rule(), subtotal_fen=1, weight_g=4321, cold_chain=True,
                                        region_codes=[])) is int
    with pytest.raises(ValueError):
        services.quote_shipping(rule(), subtotal_fen=1, weight_g=-1, cold_chain=False, region_codes=[])


def test_set_shipping_rule_validates_regions_and_replaces():
    owner = make_user()
    supplier = make_supplier(owner)
    with pytest.raises(ValidationFailed) as raised:
        services.set_shipping_rule(user=owner, supplier_id=supplier.id, base_fee_fen=1, base_weight_g=1,
                                   per_extra_kg_fen=1, excluded_region_codes=["540000", "999999"])
    assert raised.value.errors == {"excluded_region_codes": ["Unknown region code 999999."]}
    assert db.session.get(ShippingRule, supplier.id) is None
    services.set_shipping_rule(user=owner, supplier_id=supplier.id, base_fee_fen=1, base_weight_g=1,
                               per_extra_kg_fen=1, free_over_fen=500, excluded_region_codes=["650000", "540000"])
    saved = services.set_shipping_rule(user=owner, supplier_id=supplier.id, base_fee_fen=2, base_weight_g=3,
                                       per_extra_kg_fen=4, excluded_region_codes=["540000", "540000"])
    assert (saved.base_fee_fen, saved.base_weight_g, saved.per_extra_kg_fen, saved.free_over_fen,
            saved.excluded_region_codes) == (2, 3, 4, None, ["540000"])
    assert services.shipping_rules_for(supplier_ids=[supplier.id, 999]) == {supplier.id: saved}
    assert services.shipping_rules_for(supplier_ids=[]) == {}


def test_demo_loader_may_mark_a_supplier_demo():
    supplier = services.create_supplier(user=make_user(), is_demo=True, **supplier_fields())
    assert supplier.is_demo is True
