"""Fapiao test helpers: retail orders that ask for a fapiao, an organisation's requisition (placed through the
requisition service, paid by a recorded bank transfer), and PDF bodies. Organisations and their members are made
by tests/procurement/factories.py."""
from __future__ import annotations

import base64

from sqlalchemy import select

from shop.database import local_today
from shop.extensions import db
from shop.fapiao.models import Fapiao
from tests.orders.factories import SHIP, World, api_as, fulfillment_of, pay, place
from tests.procurement.factories import pay_by_transfer, requisition
from tests.suppliers.factories import valid_credit_code

API = "/api/v1"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def issue_body(amount_fen: int, **overrides) -> dict:
    body = {"number": "24322000000012345678", "issued_on": local_today().isoformat(), "amount_fen": amount_fen,
            "pdf_base64": b64(PDF)}
    body.update(overrides)
    return body


def normal_fapiao(title: str = "南京某某科技有限公司") -> dict:
    return {"type": "normal", "title": title, "taxpayer_id": valid_credit_code("320102")}


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


def procurement_order(organization, buyer, items, *, fapiao_type: str = "special") -> dict:
    """A requisition on terms `buyer` placed for the organisation, asking for a fapiao with the organisation's
    details (专用 by default), approved (at once within the buyer's limit, else by another approver) and paid in
    full by a bank transfer the platform recorded (tests/procurement/factories.py). Returns
    {"id", "fulfillments": [{"id", "supplier_id"}]}, like the API's order."""
    order_id = pay_by_transfer(requisition(buyer, organization, items, fapiao_type=fapiao_type)).id
    db.session.expire_all()
    rows = db.session.execute(select(Fapiao.fulfillment_id, Fapiao.supplier_id).where(Fapiao.order_id == order_id)
                              .order_by(Fapiao.id)).all()
    db.session.commit()
    return {"id": order_id, "fulfillments": [{"id": f, "supplier_id": s} for f, s in rows]}
