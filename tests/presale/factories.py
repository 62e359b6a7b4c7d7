"""Campaign bodies and helpers: a campaign of the world's 巫山脆李 (supplier A, 5990 fen), open now for a week,
shipping the week after; reads in the test thread end their transaction at once (see tests/payments/conftest)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from shop.database import local_today, utcnow
from shop.extensions import db
from shop.presale.models import Campaign, Pledge
from tests.orders.factories import PRICE_A, api_as

DEPOSIT_A = PRICE_A // 5  # 1198: exactly 20%


def campaign_body(world, **overrides) -> dict:
    now = utcnow()
    closes = now + dt.timedelta(days=7)
    ships_from = local_today(closes) + dt.timedelta(days=1)
    body = {"supplier_id": world.supplier_a, "sku_id": world.sku_a, "title": "巫山脆李 预售",
            "story": "七月成熟的巫山脆李，以销定产。", "opens_at": (now - dt.timedelta(hours=1)).isoformat(),
            "closes_at": closes.isoformat(), "ships_from": ships_from.isoformat(),
            "ships_until": (ships_from + dt.timedelta(days=10)).isoformat(), "unit_price_fen": PRICE_A,
            "deposit_per_unit_fen": DEPOSIT_A, "minimum_quantity": 10, "capacity": 100, "per_buyer_limit": None,
            "allocation_policy": "pro_rata"}
    body.update(overrides)
    return body


def create_draft(world, **overrides) -> dict:
    response = api_as(world.owner_a).post("/api/v1/campaigns", json=campaign_body(world, **overrides))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def open_campaign(world, **overrides) -> dict:
    draft = create_draft(world, **overrides)
    response = api_as(world.owner_a).post(f"/api/v1/campaigns/{draft['id']}/open")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def pledge(client, campaign_id: int, address_id: int, quantity: int = 1, *, key: str | None = None, **fields):
    """POST a pledge; `fields`: organization_id, payment, note…"""
    headers = {"Idempotency-Key": key} if key else None
    return client.post(f"/api/v1/campaigns/{campaign_id}/pledges",
                       json={"quantity": quantity, "address_id": address_id, **fields}, headers=headers)


def campaign_row(campaign_id: int) -> Campaign:
    db.session.expire_all()
    try:
        return db.session.scalar(select(Campaign).where(Campaign.id == campaign_id))
    finally:
        db.session.commit()


def active_pledged(campaign_id: int) -> int:
    """Units held by active pledges, counted from the pledges themselves (to check the counter against)."""
    try:
        return sum(db.session.scalars(select(Pledge.quantity).where(Pledge.campaign_id == campaign_id,
                                                                    Pledge.status == "active")))
    finally:
        db.session.commit()


def set_campaign(campaign_id: int, **values) -> None:
    """What the clock would do (a deadline passing): set columns directly."""
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))
    db.session.commit()


def paid_pledge(client, campaign_id: int, address_id: int, quantity: int = 1, **fields) -> int:
    """A pledge whose deposit (or full price) the buyer has paid at localstripe; returns its order id."""
    from shop.payments import services as payments
    from tests.orders.factories import confirm_at_provider

    response = pledge(client, campaign_id, address_id, quantity, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    order_id = response.json["order"]["id"]
    confirm_at_provider(order_id)
    assert payments.reconcile_order(order_id=order_id) in ("deposit_paid", "paid")
    db.session.commit()
    return order_id


def end_window(campaign_id: int) -> None:
    """The order window ended a minute ago (what the clock does)."""
    now = utcnow()
    set_campaign(campaign_id, opens_at=now - dt.timedelta(days=8), closes_at=now - dt.timedelta(minutes=1))


def make_cooperative(world, *, district_code: str = "500237", name: str = "巫山曲尺乡脆李合作社", **fields):
    """(owner, supplier id) of another approved cooperative, by default in supplier A's district (巫山县): the
    world has one supplier per district."""
    from tests.suppliers.factories import make_supplier
    from tests.support import make_user

    owner = make_user(display_name=f"{name}理事长")
    supplier = make_supplier(owner, name=name, district_code=district_code, **fields)
    return owner, supplier.id


def commit_supply(client, campaign_id: int, supplier_id: int, quantity, **fields):
    return client.post(f"/api/v1/campaigns/{campaign_id}/supply",
                       json={"supplier_id": supplier_id, "quantity": quantity, **fields})


def make_pledger(region_code: str):
    """(client, address id) of a shopper whose home region is `region_code` (the region their pledges count for)."""
    from tests.orders.factories import make_address
    from tests.support import make_user

    user = make_user(home_region_code=region_code)
    address = make_address(user)
    db.session.commit()
    return api_as(user), address.id


PLEDGING_LIMIT_FEN = 10_000_000  # 十万元: a member's spending limit that every test pledge is within


def pledging_member(organization, user_id: int, *, role: str = "buyer", limit_fen: int = PLEDGING_LIMIT_FEN) -> None:
    """The user becomes a member who may pledge for the organisation (added by its admin, with a limit)."""
    from shop.accounts.models import User
    from tests.procurement.factories import add_member

    add_member(organization, role, limit_fen=limit_fen, user=db.session.get(User, user_id))
    db.session.commit()


def make_org_pledger(region_code: str = "320000", *, terms: str = "net_30", **organization_fields):
    """(client, address id, organisation id): a member who may pledge for an approved organisation of
    `region_code` (a province or city) granted `terms`."""
    from tests.procurement.factories import make_organization

    from tests.orders.factories import make_address
    from tests.support import make_user

    organization = make_organization(terms=terms, home_region_code=region_code, **organization_fields)
    user = make_user(home_region_code="500101")  # the member's own home region does not count: the organisation's
    address = make_address(user)
    db.session.commit()
    pledging_member(organization, user.id)
    return api_as(user), address.id, organization.id


def succeeded_campaign(app, world, make_buyer, quantities, *, institutional=(), **overrides):
    """A campaign closed as succeeded with one paid pledge per quantity, each by a buyer of its own (in that
    order, so first come is the list's order); those at the `institutional` indices pledge for an organisation
    (each a member of it). Returns (campaign id, [(client, order id)])."""
    from shop.presale.closing import close_due_campaigns
    from tests.procurement.factories import make_organization

    campaign = open_campaign(world, minimum_quantity=1, capacity=max(sum(quantities), 1), **overrides)
    organization = make_organization() if institutional else None
    pledgers = []
    for index, quantity in enumerate(quantities):
        buyer = make_buyer()
        client = buyer.client(app)
        fields = {}
        if index in institutional:
            pledging_member(organization, buyer.user_id)
            fields["organization_id"] = organization.id
        pledgers.append((client, paid_pledge(client, campaign["id"], buyer.address_id, quantity, **fields)))
    end_window(campaign["id"])
    assert close_due_campaigns() == {"succeeded": 1}
    return campaign["id"], pledgers


def allocate(world, campaign_id: int, harvested: int, client=None, **extra):
    client = client or api_as(world.owner_a)
    return client.post(f"/api/v1/campaigns/{campaign_id}/allocate", json={"harvested_quantity": harvested, **extra})


def pay_due_part(client, order_id: int) -> str:
    """The buyer pays what the order asks now (a balance, a top-up) at localstripe; returns the order's status."""
    from shop.payments import services as payments
    from tests.orders.factories import confirm_intent

    response = client.post(f"/api/v1/orders/{order_id}/payment")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert confirm_intent(response.json["provider_ref"]).status == "succeeded"
    outcome = payments.reconcile_order(order_id=order_id)
    db.session.commit()
    return outcome


def told(template: str) -> list[int]:
    """Who got a message of this template (user ids, sorted, one per message)."""
    from shop.notifications.models import OutboxMessage

    try:
        return sorted(db.session.scalars(select(OutboxMessage.recipient_user_id)
                                         .where(OutboxMessage.template == template)))
    finally:
        db.session.commit()


def set_order_expiry(order_id: int, expires_at) -> None:
    """What the clock does to an unpaid order's reservation."""
    from shop.orders.models import Order

    db.session.execute(update(Order).where(Order.id == order_id).values(expires_at=expires_at))
    db.session.commit()


def pledges_of(campaign_id: int) -> list[Pledge]:
    """The campaign's pledges (top-ups included), in id order, read fresh."""
    try:
        return list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign_id).order_by(Pledge.id)
                                       .execution_options(populate_existing=True)))
    finally:
        db.session.commit()


def refunds_of(order_id: int) -> list[tuple[str, str, int]]:
    """(kind, status, amount) of the order's refunds, in id order."""
    from shop.refunds.models import Refund

    try:
        return [(r.kind, r.status, r.amount_fen) for r in db.session.scalars(
            select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))]
    finally:
        db.session.commit()


def refunded_at_provider(order_id: int) -> int:
    """What localstripe says it gave back on the order's card payments."""
    from shop.payments.models import Payment
    from tests.orders.factories import provider_refunds

    try:
        refs = list(db.session.scalars(select(Payment.provider_ref).where(Payment.order_id == order_id,
                                                                          Payment.provider == "stripe")))
    finally:
        db.session.commit()
    return sum(refund["amount"] for ref in refs if ref for refund in provider_refunds(ref))
