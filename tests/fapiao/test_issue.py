"""A supplier issues the fapiao of its own shipped fulfilment, once, for at most what it sold and did not refund;
the buyer is told and downloads the PDF exactly as it was uploaded."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, update

from shop.database import local_today
from shop.extensions import db
from shop.fapiao import services
from shop.fapiao.models import Fapiao
from shop.notifications.models import OutboxMessage
from shop.orders.models import Fulfillment, Order
from shop.orders.services import expire_order
from shop.orders.services import load_order as fresh_order
from shop.refunds.services import operator_refund
from shop.suppliers.services import add_member
from shop.transaction import transaction
from tests.fapiao.factories import API, PDF, b64, fapiao_of, issue_body, retail_order, ship
from tests.orders.factories import PRICE_A, api_as, assert_fen_ints, count, place
from tests.support import assert_problem, make_user


def invoiceable(order: dict, supplier_id: int) -> int:
    part = next(f for f in order["fulfillments"] if f["supplier_id"] == supplier_id)
    return part["subtotal_fen"] + part["shipping_fen"]


def row(fapiao_id: int) -> Fapiao:
    db.session.expire_all()
    try:
        return db.session.get(Fapiao, fapiao_id)
    finally:
        db.session.commit()


def issued_messages() -> int:
    return count(OutboxMessage, OutboxMessage.template == "fapiao_issued")


@pytest.fixture
def shipped(world):
    """A paid retail order of two boxes from supplier A, shipped, with its fapiao requested."""
    order = retail_order(world, [(world.sku_a, 2)])
    return order, fapiao_of(order, world.supplier_a), invoiceable(order, world.supplier_a)


def test_the_supplier_issues_with_a_pdf_and_the_buyer_downloads_it_as_uploaded(world, buyer, shipped):
    order, fapiao_id, amount = shipped
    owner = api_as(world.owner_a)
    listed = owner.get(f"{API}/fapiao?supplier_id={world.supplier_a}&status=requested").json
    assert [(f["id"], f["status"], f["invoiceable_fen"]) for f in listed["items"]] == [(fapiao_id, "requested", amount)]
    assert listed["items"][0]["order_number"] == order["number"]
    assert listed["items"][0]["fulfillment_status"] == "shipped"
    assert amount == 2 * PRICE_A + order["fulfillments"][0]["shipping_fen"]

    response = owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount))
    assert response.status_code == 200, response.json
    issued = response.json
    assert assert_fen_ints(issued) == 2  # amount_fen, invoiceable_fen: ints on both databases
    assert (issued["status"], issued["number"], issued["amount_fen"]) == ("issued", "24322000000012345678", amount)
    assert (issued["issued_on"], issued["has_file"], issued["file_size"]) == (local_today().isoformat(), True, len(PDF))
    assert issued["supplier_name"] == "巫山脆李合作社" and issued["buyer_details"]["title"] == "南京某某科技有限公司"
    assert row(fapiao_id).issued_by_id == world.owner_a.id

    download = buyer.get(f"{API}/fapiao/{fapiao_id}/file")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.get_data() == PDF
    assert download.headers["Content-Disposition"] == \
        f'attachment; filename="fapiao-{order["number"]}-24322000000012345678.pdf"'
    assert owner.get(f"{API}/fapiao/{fapiao_id}/file").get_data() == PDF  # the issuing supplier too

    mine = buyer.get(f"{API}/orders/{order['id']}/fapiao").json
    assert [(f["id"], f["status"]) for f in mine] == [(fapiao_id, "issued")]
    assert buyer.get(f"{API}/fapiao/{fapiao_id}").json["number"] == "24322000000012345678"
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "fapiao_issued"))
    assert message.recipient_user_id == world.buyer.id and order["number"] in message.subject
    assert "24322000000012345678" in message.body
    db.session.commit()
    assert owner.get(f"{API}/fapiao?status=requested").json["items"] == []


def test_an_eight_digit_number_without_a_pdf_and_base64_with_line_breaks(world, buyer):
    order = retail_order(world, [(world.sku_a, 1), (world.sku_b, 1)])
    fapiao_a, fapiao_b = fapiao_of(order, world.supplier_a), fapiao_of(order, world.supplier_b)
    plain = api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_a}/issue",
                                       json=issue_body(invoiceable(order, world.supplier_a), number="04406789",
                                                       pdf_base64=None))
    assert plain.status_code == 200, plain.json
    assert (plain.json["number"], plain.json["has_file"], plain.json["file_size"]) == ("04406789", False, None)
    assert_problem(buyer.get(f"{API}/fapiao/{fapiao_a}/file"), 404, "fapiao_file_not_attached")

    encoded = b64(PDF)
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))  # MIME-style lines
    response = api_as(world.owner_b).post(f"{API}/fapiao/{fapiao_b}/issue",
                                          json=issue_body(invoiceable(order, world.supplier_b), pdf_base64=wrapped))
    assert response.status_code == 200, response.json
    assert buyer.get(f"{API}/fapiao/{fapiao_b}/file").get_data() == PDF
    # Each supplier is the seller of its own part, and only of that.
    assert_problem(api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_b}/issue", json=issue_body(1)), 404, "not_found")


TWO_MIB = b"%PDF-1.4\n" + b"0" * (services.MAX_PDF_BYTES - 9)


@pytest.mark.parametrize("change, code, field", [
    ({"number": "1234567"}, "validation_error", "number"),
    ({"number": "123456789"}, "validation_error", "number"),
    ({"number": "1234567890123456789a"}, "validation_error", "number"),
    ({"number": "１２３４５６７８"}, "validation_error", "number"),  # full-width digits are not the number
    ({"number": None}, "validation_error", "number"),
    ({"amount_fen": 0}, "validation_error", "amount_fen"),
    ({"amount_fen": -100}, "validation_error", "amount_fen"),
    ({"amount_fen": 100.5}, "validation_error", "amount_fen"),
    ({"amount_fen": "100"}, "validation_error", "amount_fen"),
    ({"amount_fen": True}, "validation_error", "amount_fen"),
    ({"issued_on": "2025-13-01"}, "validation_error", "issued_on"),
    ({"issued_on": "2025-01-01T00:00:00"}, "validation_error", "issued_on"),
    ({"issued_on": (local_today() + dt.timedelta(days=1)).isoformat()}, "issued_on_in_future", "issued_on"),
    ({"issued_on": (local_today() - dt.timedelta(days=1)).isoformat()}, "issued_before_order", "issued_on"),
    ({"amount_fen": "above"}, "amount_above_invoiceable", "amount_fen"),
    ({"pdf_base64": "not base64 at all!"}, "pdf_not_base64", "pdf_base64"),
    ({"pdf_base64": "JVBERi0"}, "pdf_not_base64", "pdf_base64"),  # unpadded
    ({"pdf_base64": "8J+YgA=="}, "not_a_pdf", "pdf_base64"),
    ({"pdf_base64": b64(b"PK\x03\x04 a zip, not a PDF")}, "not_a_pdf", "pdf_base64"),
    ({"pdf_base64": ""}, "not_a_pdf", "pdf_base64"),
    ({"pdf_base64": b64(TWO_MIB + b"x")}, "pdf_too_large", "pdf_base64"),
])
def test_bad_input_is_refused_and_changes_nothing(world, shipped, change, code, field):
    order, fapiao_id, amount = shipped
    if change.get("amount_fen") == "above":
        change = {"amount_fen": amount + 1}
    body = assert_problem(api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_id}/issue",
                                                     json={**issue_body(amount), **change}), 422, code)
    assert field in body["errors"], body
    if code == "amount_above_invoiceable":
        assert body["invoiceable_fen"] == amount
    fapiao = row(fapiao_id)
    assert (fapiao.status, fapiao.number, fapiao.amount_fen, fapiao.file_size) == ("requested", None, None, None)
    assert issued_messages() == 0


def test_a_pdf_of_exactly_two_mib_is_taken_and_a_body_above_three_mib_is_413(world, buyer, shipped):
    order, fapiao_id, amount = shipped
    owner = api_as(world.owner_a)
    huge = issue_body(amount, pdf_base64="A" * (3 * 1024 * 1024))
    assert_problem(owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=huge), 413, "payload_too_large")
    assert len(TWO_MIB) == services.MAX_PDF_BYTES
    response = owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount, pdf_base64=b64(TWO_MIB)))
    assert response.status_code == 200, response.json
    assert buyer.get(f"{API}/fapiao/{fapiao_id}/file").get_data() == TWO_MIB


def test_the_day_the_order_was_placed_in_china_is_the_earliest_date(world, shipped):
    order, fapiao_id, amount = shipped
    placed = local_today(db.session.get(Order, order["id"]).placed_at)
    db.session.commit()
    response = api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_id}/issue",
                                          json=issue_body(amount, issued_on=placed.isoformat()))
    assert response.status_code == 200, response.json


def test_a_second_issue_is_409_and_the_first_stands(world, shipped):
    order, fapiao_id, amount = shipped
    owner = api_as(world.owner_a)
    assert owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)).status_code == 200
    again = owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount - 1, number="99999999"))
    assert_problem(again, 409, "fapiao_already_issued")
    fapiao = row(fapiao_id)
    assert (fapiao.number, fapiao.amount_fen) == ("24322000000012345678", amount)
    assert issued_messages() == 1


def test_two_concurrent_issues_make_one_fapiao(world, shipped, monkeypatch):
    order, fapiao_id, amount = shipped
    manager = make_user()
    add_member(user=world.owner_a, supplier_id=world.supplier_a, email=manager.email, role="manager")
    clients = [api_as(world.owner_a), api_as(manager)]
    barrier = threading.Barrier(2)
    original = services._for_supplier

    def found_by_both(*args, **kwargs):
        fapiao = original(*args, **kwargs)
        try:
            barrier.wait(timeout=3)  # both have read it as requested (where the database lets them)
        except threading.BrokenBarrierError:
            pass  # SQLite: the other request waits for this one's transaction
        return fapiao

    monkeypatch.setattr(services, "_for_supplier", found_by_both)
    results = [None, None]

    def run(index):
        body = issue_body(amount, number=f"1000000{index}")
        results[index] = clients[index].post(f"{API}/fapiao/{fapiao_id}/issue", json=body)

    db.session.commit()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in results) == [200, 409], [r.json for r in results]
    assert_problem(next(r for r in results if r.status_code == 409), 409, "fapiao_already_issued")
    winner = next(r for r in results if r.status_code == 200).json["number"]
    assert row(fapiao_id).number == winner
    assert count(Fapiao, Fapiao.status == "issued") == 1
    assert issued_messages() == 1


def test_only_a_shipped_or_delivered_fulfilment_is_invoiced(world):
    order = retail_order(world, [(world.sku_a, 1)], shipped=False)
    fapiao_id, amount = fapiao_of(order, world.supplier_a), invoiceable(order, world.supplier_a)
    owner = api_as(world.owner_a)
    assert_problem(owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)), 409,
                   "fulfillment_not_shipped")
    ship(world.owner_a, order, world.supplier_a)
    fid = order["fulfillments"][0]["id"]
    assert owner.post(f"{API}/fulfillments/{fid}/deliver").status_code == 200
    assert owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)).status_code == 200


def test_refunds_lower_what_may_be_invoiced(world, shipped):
    order, fapiao_id, amount = shipped
    operator_refund(user=make_user(admin=True), order_id=order["id"], amount_fen=1000, reason="压损补偿")
    owner = api_as(world.owner_a)
    assert owner.get(f"{API}/fapiao/{fapiao_id}").json["invoiceable_fen"] == amount - 1000
    body = assert_problem(owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)), 422,
                          "amount_above_invoiceable")
    assert body["invoiceable_fen"] == amount - 1000
    response = owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount - 1000))
    assert response.status_code == 200, response.json


def test_cancelling_the_order_lapses_its_requests(world, buyer):
    order = retail_order(world, [(world.sku_a, 1), (world.sku_b, 1)], shipped=False)
    assert buyer.post(f"{API}/orders/{order['id']}/cancel", json={"reason": "买错了"}).status_code == 200
    fapiao_id = fapiao_of(order, world.supplier_a)
    assert row(fapiao_id).status == "cancelled" and row(fapiao_of(order, world.supplier_b)).status == "cancelled"
    owner = api_as(world.owner_a)
    listed = owner.get(f"{API}/fapiao?supplier_id={world.supplier_a}").json["items"]
    assert [(f["id"], f["status"]) for f in listed] == [(fapiao_id, "cancelled")]
    assert owner.get(f"{API}/fapiao?status=requested").json["items"] == []
    assert_problem(owner.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(100)), 409, "fapiao_cancelled")


def test_an_unpaid_order_that_expires_lapses_its_request(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 1)], fapiao={"type": "normal", "title": "个人"})
    with transaction():
        assert expire_order(order=fresh_order(order["id"]))
    assert row(fapiao_of(order, world.supplier_a)).status == "cancelled"


def test_a_request_left_open_on_a_cancelled_fulfilment_is_still_refused(world, shipped):
    """Rows from before cancellations lapsed them: the fulfilment's status is checked, not only the fapiao's."""
    order, fapiao_id, amount = shipped
    db.session.execute(update(Fulfillment).where(Fulfillment.id == order["fulfillments"][0]["id"])
                       .values(status="cancelled"))
    db.session.commit()
    assert_problem(api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)), 409,
                   "fapiao_cancelled")


def test_a_special_fapiao_is_not_issued_without_the_buyers_taxpayer_id(world, shipped):
    order, fapiao_id, amount = shipped
    details = {"title": "某公司", "taxpayer_id": None, "address": "x", "phone": "1", "bank": "b", "account": "1"}
    db.session.execute(update(Fapiao).where(Fapiao.id == fapiao_id).values(type="special", buyer_details=details))
    db.session.commit()
    assert_problem(api_as(world.owner_a).post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount)), 409,
                   "buyer_taxpayer_id_missing")
    assert row(fapiao_id).status == "requested"
