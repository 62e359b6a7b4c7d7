"""Procurement factories for any domain's tests: the one organisation factory and member helper, requisitions
placed and approved through the requisition service, paid on terms by recorded bank transfers or by card at
localstripe; and, for the quota and statement tests, a small shop of reservoir-district products (food, TCM pieces,
seeds, and one product grown outside the reservoir area).

Everything goes through the services. The two exceptions rewrite history only, each an UPDATE said as such:
`backdate` (the services stamp "now"; statements and quotas need orders of given days, as the demo history does
in shop.demo_history._backdate) and `make_overdue` (an invoice is issued on approval, due net 15/30/60 from today;
an overdue one needs its dates in the past)."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import select, update
from stdnum.cn import uscc

from shop.accounts.services import get_user
from shop.database import SHOP_TIMEZONE, local_today
from shop.extensions import db
from shop.orders.models import Order
from shop.payments.services import open_payment, record_bank_transfer
from shop.procurement import organizations
from shop.procurement.models import Invoice, Organization
from shop.procurement.requisitions import approve_requisition, place_requisition
from tests.catalog.factories import make_product
from tests.orders.factories import load_order, pay, set_rule, sku_of
from tests.suppliers.factories import make_supplier
from tests.support import make_user

JIANGSU = "320000"
# Where requisitions are delivered: 南京市玄武区 (a county, → 南京市 → 江苏省).
DELIVERY = {"recipient": "总务科 张老师", "mobile": "+8613900002222", "region_code": "320102",
            "detail": "中山路 321 号 食堂仓库", "postal_code": "210008"}
_seq = itertools.count(1)


# --- organisations ----------------------------------------------------------------------------------------------


def org_credit_code(region: str = "320100") -> str:
    base = f"12{region}{next(_seq):09d}"  # 12: a public institution (事业单位)
    return base + uscc.calc_check_digit(base)


def organization_fields(**overrides) -> dict:
    """A valid registration body (also register_organization's keyword arguments): a 江苏 hospital with a canteen
    whose taxpayer id is its credit code, so that it may ask for a 专用发票."""
    code = org_credit_code()
    fields = dict(name="江苏省某人民医院（演示）", kind="hospital", credit_code=code, home_region_code=JIANGSU,
                  address="南京市玄武区中山路 321 号", contact_name="张老师", contact_phone="+8613900002222",
                  has_canteen=True, fapiao_title="江苏省某人民医院", taxpayer_id=code,
                  fapiao_address_phone="南京市玄武区中山路321号 025-83300000",
                  fapiao_bank_account="中国银行南京分行 1234567890123")
    fields.update(overrides)
    return fields


def make_organization(admin=None, *, status: str = "approved", terms: str = "net_30", platform=None,
                      **overrides) -> Organization:
    """Registered by `admin` (its admin; a fresh user by default), then reviewed into `status` and, once approved,
    given `terms` by a platform admin, all through the services. Fields: organization_fields(**overrides)."""
    admin = admin or make_user(display_name="单位管理员")
    organization = organizations.register_organization(user=admin, **organization_fields(**overrides))
    platform = platform or make_user(admin=True)
    if status in ("approved", "suspended"):
        organizations.review_organization(organization_id=organization.id, actor=platform, action="approve")
        organizations.set_payment_terms(organization_id=organization.id, actor=platform, payment_terms=terms)
    last_step = {"suspended": "suspend", "rejected": "reject"}.get(status)
    if last_step:
        organizations.review_organization(organization_id=organization.id, actor=platform, action=last_step,
                                          reason="test")
    return organizations.get_organization(organization_id=organization.id)


def admin_of(organization: Organization):
    """The organisation's first admin (the user who registered it)."""
    return organizations.members_who_may(organization.id, "manage_members")[0].user


def add_member(organization: Organization, role: str, *, limit_fen: int = 0, user=None):
    """A user (fresh by default) added by the organisation's admin with `role` and a spending limit (0: every
    requisition of theirs waits for an approver)."""
    user = user or make_user(display_name=f"{role} member")
    organizations.add_member(user=admin_of(organization), organization_id=organization.id, email=user.email,
                             role=role, spending_limit_fen=limit_fen)
    return user


# --- requisitions -------------------------------------------------------------------------------------------------


def _approver_for(organization: Organization, buyer):
    """The first member who may approve and did not place it (nobody approves their own requisition)."""
    for member in organizations.members_who_may(organization.id, "approve_requisition"):
        if member.user_id != buyer.id:
            return member.user
    raise AssertionError("nobody but the buyer may approve: add an approver, or give the buyer a limit")


def requisition(buyer, organization: Organization, items: list[tuple[int, int]], *, payment: str = "terms",
                approve: bool = True, approver=None, placed_at: dt.datetime | None = None,
                **fields) -> Order:
    """A requisition `buyer` places for `organization` through the service (delivered to DELIVERY; `fields`:
    po_number, fapiao_type, note, …). Within the buyer's limit it is approved at once; above it, unless
    approve=False, `approver` (by default the first other member who may) approves it. Approved on terms it has
    its invoice and waits for transfers; approved by card it is pending_payment (pay_by_card). `placed_at`
    backdates it once placed and decided."""
    order = place_requisition(user=buyer, organization_id=organization.id, delivery_address=DELIVERY,
                              items=[{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in items],
                              payment=payment, **fields)
    if approve and order.status == "awaiting_approval":
        approve_requisition(user=approver or _approver_for(organization, buyer), organization_id=organization.id,
                            order_id=order.id)
    if placed_at is not None:
        backdate(order.id, placed_at)
    return load_order(order.id)


def pay_by_transfer(order: Order, amount_fen: int | None = None) -> Order:
    """A platform operator records a bank transfer against the order (what it still owes by default). On terms it
    may be a part; paid in full, the order stays where it is and its paid_at is set."""
    record_bank_transfer(user=make_user(admin=True), order_id=order.id,
                         amount_fen=order.total_fen - order.paid_fen if amount_fen is None else amount_fen,
                         value_date=local_today(), reference=f"BANK-{next(_seq):06d}")
    return load_order(order.id)


def pay_by_card(order: Order) -> Order:
    """The buyer opens the card payment of a pending_payment requisition and pays it at localstripe."""
    open_payment(user=get_user(user_id=order.buyer_id), order_id=order.id)
    pay(order.id)
    return load_order(order.id)


def invoice_of(order: Order) -> Invoice:
    """The order's invoice as committed now (the read transaction is ended at once)."""
    db.session.expire_all()
    try:
        return db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))
    finally:
        db.session.commit()


def backdate(order_id: int, placed_at: dt.datetime) -> None:
    """History rewritten, not a service: the services stamp "now", and statements and quotas are about the day
    an order was placed. Only placed_at moves (an UPDATE); its events, payments and invoice keep their days."""
    db.session.execute(update(Order).where(Order.id == order_id).values(placed_at=placed_at))
    db.session.commit()


def make_overdue(order: Order, *, days: int = 1) -> Invoice:
    """The order's invoice, issued for real on approval, moved into the past with an UPDATE so that it fell due
    `days` days ago (issue date moved with it: the terms keep their length). No service back-dates an invoice."""
    invoice = invoice_of(order)
    shift = invoice.due_on - (local_today() - dt.timedelta(days=days))
    db.session.execute(update(Invoice).where(Invoice.id == invoice.id)
                       .values(due_on=invoice.due_on - shift, issued_on=invoice.issued_on - shift))
    db.session.commit()
    return invoice_of(order)


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment given on the Chongqing clock."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHOP_TIMEZONE)


# --- the quota and statement shop -----------------------------------------------------------------------------------


@dataclass
class Shop:
    zhacai: int          # 涪陵榨菜: canteen food, reservoir district, supplier with a shipping fee
    plums: int           # 巫山脆李: canteen food, reservoir district
    tcm_pieces: int      # 云阳 中药饮片: product type tcm_decoction (not food)
    misfiled_tcm: int    # 中药饮片 listed under dried goods: its product type alone keeps it out
    herbs: int           # 巫溪独活, raw: the medicinal-herbs subtree alone keeps it out
    seeds: int           # 涪陵 水稻种子: category seeds-seedlings (not food)
    yuzhong_veg: int     # a vegetable grown in 渝中区: food, but not from a reservoir district
    suppliers: dict      # name → id


ZHACAI_PRICE, PLUM_PRICE, TCM_PRICE, HERB_PRICE, SEED_PRICE, VEG_PRICE = 1250, 5990, 8800, 4100, 3333, 999
SHIPPING_FEE_FEN = 800  # the 涪陵 supplier's flat fee; the others ship free


def _sku(price_fen: int) -> list[dict]:
    return [{"spec": "整箱", "unit": "箱", "weight_g": 1000, "price_fen": price_fen, "stock": 10_000}]


def make_shop() -> Shop:
    fuling_owner, wushan_owner, yunyang_owner = (make_user(display_name=n) for n in ("涪陵", "巫山", "云阳"))
    fuling = make_supplier(fuling_owner, name="涪陵榨菜集团", kind="leading_enterprise", district_code="500102")
    wushan = make_supplier(wushan_owner, name="巫山脆李合作社", district_code="500237")
    yunyang = make_supplier(yunyang_owner, name="云阳万力药业", kind="leading_enterprise", district_code="500235")
    set_rule(fuling_owner, fuling.id, base_fee_fen=SHIPPING_FEE_FEN, base_weight_g=100_000)
    zhacai = make_product(fuling, name="涪陵榨菜", category="zhacai", product_type="prepackaged",
                          food_filing_number="渝食备 2024-001", return_policy="seven_day", skus=_sku(ZHACAI_PRICE))
    seeds = make_product(fuling, name="杂交水稻种子", category="seeds-seedlings", return_policy="seven_day",
                         skus=_sku(SEED_PRICE))
    plums = make_product(wushan, name="巫山脆李", skus=_sku(PLUM_PRICE))
    tcm = make_product(yunyang, name="云阳 中药饮片 黄连片", category="tcm-decoction-pieces",
                       product_type="tcm_decoction", sc_license_number="SC12350023500012",
                       return_policy="seven_day", skus=_sku(TCM_PRICE))
    misfiled = make_product(yunyang, name="中药饮片 陈皮", category="dried-goods", product_type="tcm_decoction",
                            sc_license_number="SC12350023500013", return_policy="seven_day", skus=_sku(TCM_PRICE))
    herbs = make_product(yunyang, name="巫溪独活", category="medicinal-herbs", origin_district_code="500238",
                         return_policy="seven_day", skus=_sku(HERB_PRICE))
    veg = make_product(wushan, name="渝中 小白菜", category="vegetables", origin_district_code="500103",
                       skus=_sku(VEG_PRICE))
    return Shop(zhacai=sku_of(zhacai.id), plums=sku_of(plums.id), tcm_pieces=sku_of(tcm.id),
                misfiled_tcm=sku_of(misfiled.id), herbs=sku_of(herbs.id), seeds=sku_of(seeds.id),
                yuzhong_veg=sku_of(veg.id),
                suppliers={"fuling": fuling.id, "wushan": wushan.id, "yunyang": yunyang.id})
