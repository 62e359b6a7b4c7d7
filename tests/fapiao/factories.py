"""Fapiao test helpers: retail orders that ask for a fapiao, an organisation's order bought through procurement
(written with checkout's public order-writing verbs, paid by a recorded bank transfer), and PDF bodies."""
from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass

from sqlalchemy import select

from shop.addresses import services as addresses
from shop.catalog import stock
from shop.checkout.pricing import price_items
from shop.checkout.services import write_order
from shop.database import local_today, utcnow
from shop.extensions import db
from shop.fapiao.models import Fapiao
from shop.fapiao.requests import open_for
from shop.payments.services import record_bank_transfer
from shop.procurement import organizations
from shop.transaction import transaction
from tests.orders.factories import SHIP, World, api_as, fulfillment_of, make_address, pay, place
from tests.suppliers.factories import valid_credit_code
from tests.support import make_user

API = "/api/v1"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
_references = itertools.count(1)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def issue_body(amount_fen: int, **overrides) -> dict:
    body = {"number": "24322000000012345678", "issued_on": local_today().isoformat(), "amount_fen": amount_fen,
            "pdf_base64": b64(PDF)}
    body.update(overrides)
    return body


def normal_fapiao(title: str = "南京某某科技有限公司") -> dict:
    return {"type": "normal", "title": title, "taxpayer_id": valid_credit_code("320102")}


def special_fapiao(title: str, taxpayer_id: str) -> dict:
    return {"type": "special", "title": title, "taxpayer_id": taxpayer_id, "address": "南京市玄武区中山路 1 号",
            "phone": "025-83300000", "bank": "中国工商银行南京中山路支行", "account": "4301011309001041656"}


def fapiao_of(order: dict, supplier_id: int) -> int:
    """The id of the fapiao request of the order's fulfilment by that supplier."""
    fulfillment_id = fulfillment_of(order, supplier_id)
    try:
        return db.session.scalar(select(Fapiao.id).where(Fapiao.fulfillment_id == fulfillment_id))
    finally:
        db.session.commit()


def ship(owner, order: dict, supplier_id: int) -> None:
    response = api_as(owner).post(f"{API}/fulfillments/{fulfillment_of(order, supplier_id)}/ship", json=SHIP)
    assert response.status_code == 200, response.json


def retail_order(world: World, items, *, fapiao: dict | None = None, shipped: bool = True) -> dict:
    """A paid retail order of the world's buyer that asked for a fapiao; shipped by every supplier in it."""
    order = place(api_as(world.buyer), world.address_id, items, fapiao=fapiao or normal_fapiao())
    pay(order["id"])
    if shipped:
        for owner, supplier_id in ((world.owner_a, world.supplier_a), (world.owner_b, world.supplier_b)):
            if any(f["supplier_id"] == supplier_id for f in order["fulfillments"]):
                ship(owner, order, supplier_id)
    return order


# --- organisations ------------------------------------------------------------------------------------------


@dataclass
class Institution:
    id: int
    admin: object
    credit_code: str
    title: str


def make_organization(name: str = "南京市第一医院", *, admin=None) -> Institution:
    admin = admin or make_user(display_name="采购单位管理员", home_region_code="320102")
    credit_code = valid_credit_code("320102")
    organization = organizations.register_organization(
        user=admin, name=name, kind="hospital", credit_code=credit_code, home_region_code="320000",
        address="南京市玄武区中山路 1 号", contact_name="张三", contact_phone="+8613900001111", has_canteen=True,
        fapiao_title=name, taxpayer_id=credit_code)
    return Institution(id=organization.id, admin=admin, credit_code=credit_code, title=name)


def add_org_member(institution: Institution, role: str):
    user = make_user(display_name=f"采购{role}", home_region_code="320102")
    organizations.add_member(user=institution.admin, organization_id=institution.id, email=user.email, role=role)
    return user


def procurement_order(institution: Institution, buyer, items, *, fapiao: dict | None = None) -> dict:
    """An order `buyer` placed for the organisation (special fapiao by default), paid by a bank transfer the
    platform recorded. Returns {"id", "fulfillments": [{"id", "supplier_id"}]}, like the API's order."""
    address = make_address(buyer)
    with transaction():
        quote = price_items(items, destination_codes=addresses.destination_codes(address), channel="procurement")
        order = write_order(quote, now=utcnow(), buyer_id=buyer.id, organization_id=institution.id,
                            channel="procurement", status="pending_payment", payment_plan="bank_transfer",
                            payment_terms="prepaid", shipping_address=addresses.snapshot(address),
                            buyer_region_code="320000",
                            fapiao=fapiao or special_fapiao(institution.title, institution.credit_code))
        stock.reserve(items, order_id=order.id, actor_id=buyer.id)
        open_for(order)
        order_id, total_fen = order.id, order.total_fen
    record_bank_transfer(user=make_user(admin=True), order_id=order_id, amount_fen=total_fen,
                         value_date=local_today(), reference=f"BOC{next(_references):012d}")
    db.session.expire_all()
    rows = db.session.execute(select(Fapiao.fulfillment_id, Fapiao.supplier_id).where(Fapiao.order_id == order_id)
                              .order_by(Fapiao.id)).all()
    db.session.commit()
    return {"id": order_id, "fulfillments": [{"id": f, "supplier_id": s} for f, s in rows]}
