"""The checkout world of the served benchmarks: an approved supplier, one product with hot SKUs, and buyers
with API tokens and addresses, all made through the services. Shared by benchmarks.run and benchmarks.http."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from benchmarks.catalog import DEMO_NOTE

PASSWORD = "correct-horse-battery-9"
BUYER_COUNTY = "320102"  # 南京市玄武区


@dataclass
class World:
    product_id: int
    hot_skus: list[int]
    probe_sku: int
    buyers: list[tuple[int, str, int]]  # (user id, token, address id)
    probe_buyers: list[tuple[int, str, int]]
    initial_stock: int
    orders_per_buyer: int  # at most this many orders per buyer (the app caps unpaid orders per buyer)
    register_seconds: float


def setup_checkout_world(app, *, n_skus: int, stock: int, attempts: int, probe_orders: int, threads: int) -> World:
    """A supplier (registered, recommended by its county and approved, through the services) with one product: n_skus hot SKUs of `stock`
    units and a probe SKU; buyers (account, API token, address, all through the services), enough that none
    places more than half of the app's MAX_UNPAID_ORDERS (the app refuses more unpaid orders per buyer)."""
    from stdnum.cn import uscc

    from shop.accounts.services import create_admin, create_token, register_user
    from shop.addresses.services import create_address
    from shop.catalog import services as catalog
    from shop.catalog.models import Category, Sku
    from shop.extensions import db
    from shop.suppliers import services as suppliers
    from shop.suppliers import vetting
    from sqlalchemy import select

    with app.app_context():
        admin = create_admin(email="bench-admin@example.test", password=PASSWORD)
        owner = register_user(email="bench-owner@example.test", password=PASSWORD, display_name="巫山合作社理事长")
        base = "93500237999999999"[:17]
        supplier = suppliers.create_supplier(
            user=owner, name="巫山县曲尺乡脆李秒杀专业合作社", kind="cooperative",
            credit_code=base + uscc.calc_check_digit(base), district_code="500237", contact_name="李四",
            contact_phone="+8613812345678", address="巫山县曲尺乡", farmer_linkage="带动 120 户果农")
        # The county recommends, then the platform approves (a pending supplier cannot be approved directly).
        reviewer = register_user(email="bench-reviewer@example.test", password=PASSWORD, display_name="巫山县审核员")
        vetting.appoint_reviewer(actor=admin, email=reviewer.email, district_code="500237")
        vetting.county_review(user=reviewer, supplier_id=supplier.id, action="recommend", reason="材料属实")
        suppliers.review_supplier(supplier_id=supplier.id, actor=admin, action="approve")
        suppliers.set_shipping_rule(user=owner, supplier_id=supplier.id, base_fee_fen=1000, base_weight_g=1000,
                                    per_extra_kg_fen=200, cold_chain_surcharge_fen=500, free_over_fen=19900)
        plums = db.session.scalar(select(Category.id).where(Category.slug == "plums"))
        skus = [{"spec": f"5斤装 特级果 {i + 1}号仓", "unit": "箱", "weight_g": 2500, "price_fen": 5990 + i * 100,
                 "stock": stock} for i in range(n_skus)]
        skus.append({"spec": "3斤装 试吃", "unit": "箱", "weight_g": 1500, "price_fen": 3990, "stock": 100_000})
        product = catalog.create_product(
            user=owner, supplier_id=supplier.id, name="巫山脆李 限量秒杀", subtitle="高山脆李 现摘现发",
            description="巫山县曲尺乡果园直供。" + DEMO_NOTE, category_id=plums, origin_district_code="500237",
            product_type="raw_produce", return_policy="excluded_fresh", cold_chain=True,
            sale_months=list(range(1, 13)),  # on sale all year: a summer-only product fails checkout in winter
            shelf_life_days=7, storage="冷藏 0–4℃", images=[], skus=skus)
        catalog.publish_product(user=owner, product_id=product.id)
        sku_ids = list(db.session.scalars(select(Sku.id).where(Sku.product_id == product.id).order_by(Sku.id)))
        product_id = product.id
        limit = app.config.get("MAX_UNPAID_ORDERS") or 1_000_000
        db.session.remove()

    per_buyer = max(1, limit // 2)
    n_buyers = max(threads, -(-attempts // per_buyer))
    n_probe = -(-probe_orders // per_buyer)

    def make_buyer(i: int) -> tuple[int, str, int]:
        with app.app_context():
            user = register_user(email=f"bench-buyer{i}@example.test", password=PASSWORD,
                                 display_name=f"南京买家{i}", home_region_code=BUYER_COUNTY)
            _, token = create_token(user=user, name="bench")
            address = create_address(user=user, recipient="王五", mobile="+8613900001111", region_code=BUYER_COUNTY,
                                     detail="玄武大道 1 号", postal_code="210000")
            buyer = (user.id, token, address.id)
            db.session.remove()
        return buyer

    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # argon2 releases the GIL
        buyers = list(pool.map(make_buyer, range(n_buyers + n_probe)))
    register_seconds = time.perf_counter() - t0
    return World(product_id=product_id, hot_skus=sku_ids[:n_skus], probe_sku=sku_ids[n_skus],
                 buyers=buyers[n_probe:], probe_buyers=buyers[:n_probe], initial_stock=stock,
                 orders_per_buyer=per_buyer, register_seconds=register_seconds)


def checkout_body(address_id: int, sku_id: int) -> dict:
    return {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
