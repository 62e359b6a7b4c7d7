"""Procurement factories for the quota and statement tests: approved organisations with members, a small shop
of reservoir-district products (food, TCM pieces, seeds, and one product from outside the reservoir area), and
procurement orders paid by bank transfer through the payment service."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import select

from shop.catalog import stock
from shop.checkout.pricing import price_items
from shop.checkout.services import write_order
from shop.database import SHOP_TIMEZONE, local_today, utcnow
from shop.extensions import db
from shop.orders.models import Order
from shop.payments.services import record_bank_transfer
from shop.procurement import organizations
from shop.procurement.models import Invoice, Organization
from shop.transaction import transaction
from tests.catalog.factories import make_product
from tests.orders.factories import set_rule, sku_of
from tests.suppliers.factories import make_supplier, valid_credit_code
from tests.support import make_user

HOME_PROVINCE = "320000"  # 江苏省
DESTINATION = ["320102", "320100", "320000"]  # 南京市玄武区 and its ancestors
SHIPPING_ADDRESS = {"recipient": "食堂 张师傅", "mobile": "+8613900001111", "region_code": "320102",
                    "region_names": ["江苏省", "南京市", "玄武区"], "detail": "中山路 1 号 食堂后门", "postal_code": "210000"}
SHIPPING_FEE_FEN = 800  # the 涪陵 supplier's flat fee; the others ship free
_seq = itertools.count(1)


# --- organisations ----------------------------------------------------------------------------------------------


def make_organization(admin=None, *, home_region_code: str = HOME_PROVINCE, has_canteen: bool = True,
                      name: str = "南京市第一医院", approve: bool = True) -> Organization:
    """Registered through the service by `admin` (its admin; a fresh user by default), approved by a platform
    admin unless approve=False."""
    admin = admin or make_user(display_name="单位管理员")
    organization = organizations.register_organization(
        user=admin, name=name, kind="hospital", credit_code=valid_credit_code(home_region_code),
        home_region_code=home_region_code, address="南京市玄武区中山路 1 号", contact_name="张三",
        contact_phone="+8613900001111", has_canteen=has_canteen, fapiao_title=name)
    if approve:
        organization = organizations.review_organization(organization_id=organization.id,
                                                         actor=make_user(admin=True), action="approve")
    return organization


def admin_of(organization: Organization):
    member = organizations.members_who_may(organization.id, "file_quota")[0]
    return member.user


def add_member(organization: Organization, role: str, user=None):
    """A user (fresh by default) added by the organisation's admin with `role`."""
    user = user or make_user(display_name=f"{role} member")
    organizations.add_member(user=admin_of(organization), organization_id=organization.id, email=user.email,
                             role=role)
    return user


# --- the shop -----------------------------------------------------------------------------------------------------


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


# --- orders -------------------------------------------------------------------------------------------------------


def make_procurement_order(*, buyer, organization, items: list[tuple[int, int]], placed_at: dt.datetime | None = None,
                           status: str = "pending_payment", payment_plan: str = "bank_transfer",
                           payment_terms: str = "prepaid", po_number: str | None = None) -> Order:
    """A procurement order of `organization` placed by `buyer`, priced and written as checkout does, stock
    reserved. Unpaid: pay it with pay_by_transfer. (To become the requisition service once it exists.)"""
    quote = price_items(items, destination_codes=DESTINATION, channel="procurement")
    assert not quote.problems(), quote.problems()
    with transaction():
        order = write_order(quote, now=placed_at or utcnow(), buyer_id=buyer.id, organization_id=organization.id,
                            channel="procurement", status=status, payment_plan=payment_plan,
                            payment_terms=payment_terms, shipping_address=SHIPPING_ADDRESS,
                            buyer_region_code=HOME_PROVINCE, po_number=po_number)
        stock.reserve(items, order_id=order.id, actor_id=buyer.id)
    return load(order.id)


def pay_by_transfer(order: Order, amount_fen: int | None = None) -> Order:
    """A platform operator records a bank transfer for the order (the whole of what is due by default)."""
    record_bank_transfer(user=make_user(admin=True), order_id=order.id,
                         amount_fen=order.total_fen - order.paid_fen if amount_fen is None else amount_fen,
                         value_date=local_today(), reference=f"BANK-{next(_seq):06d}")
    return load(order.id)


def make_invoice(order: Order, *, due_on: dt.date, number: str | None = None) -> Invoice:
    """The invoice of an order on terms, written directly (the invoice service is not merged yet)."""
    with transaction():
        invoice = Invoice(order_id=order.id, organization_id=order.organization_id, amount_fen=order.total_fen,
                          number=number or f"INV{next(_seq):08d}", terms="net_30",
                          issued_on=due_on - dt.timedelta(days=30), due_on=due_on)
        db.session.add(invoice)
    return invoice


def load(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.id == order_id))


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment given on the Chongqing clock."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHOP_TIMEZONE)
