"""Demo data for the embedded default. Everything here is marked demo: demo prices, demo suppliers."""
from __future__ import annotations

from sqlalchemy import select

from shop.accounts.models import User
from shop.accounts.services import normalise_email, register_user
from shop.addresses.services import create_address, list_addresses
from shop.extensions import db
from shop.transaction import transaction

DEMO_PASSWORD = "sanxia-demo-2026"  # local demo only; load-demo refuses to run in production

DEMO_ACCOUNTS = [
    {"role": "platform admin", "email": "admin@demo.sanxia.test", "name": "展销中心运营", "admin": True},
    {"role": "shopper", "email": "shopper@demo.sanxia.test", "name": "张三 (demo)", "home": "320100"},
    {"role": "supplier owner", "email": "coop@demo.sanxia.test", "name": "巫山果农合作社负责人 (demo)"},
    {"role": "supplier staff", "email": "staff@demo.sanxia.test", "name": "合作社店员 (demo)"},
    {"role": "supplier owner 2", "email": "fengjie@demo.sanxia.test", "name": "奉节脐橙企业负责人 (demo)"},
    # Staff of every demo supplier: sets their shipping rules and ships the demo history's orders.
    {"role": "supplier shipping", "email": "shipping@demo.sanxia.test", "name": "供货企业发货员 (demo)"},
]
DEMO_ADDRESS = {"recipient": "张三 (demo)", "mobile": "+8613800000000", "region_code": "320102",
                "detail": "南京市玄武区中山路 1 号 (demo)"}


def ensure_user(account: dict) -> User:
    with transaction():
        user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(account["email"])))
        if user is None:
            user = register_user(email=account["email"], password=DEMO_PASSWORD, display_name=account["name"],
                                 home_region_code=account.get("home"))
        if account.get("admin") and not user.is_platform_admin:
            user.is_platform_admin = True
    return user


def load_demo_data() -> dict:
    """Idempotent. The accounts and catalog are one unit of work (every row or none); the order history, the
    procurement and the pre-sale campaigns come after its commit, each order in its own units of work as real
    orders are (refunds run after commit)."""
    from shop.catalog.demo_data import load_demo_catalog, verify_sourced_gi
    from shop.demo_history import load_demo_history
    from shop.presale.demo import load_demo_presale
    from shop.procurement.demo import load_demo_procurement

    with transaction():
        users = {account["role"]: ensure_user(account) for account in DEMO_ACCOUNTS}
        catalog = load_demo_catalog(users["supplier owner"], users["supplier staff"],
                                    other_owners={"fengjie": users["supplier owner 2"]})
        shopper = users["shopper"]
        if not list_addresses(user=shopper):
            create_address(user=shopper, is_default=True, **DEMO_ADDRESS)
    verify_sourced_gi(users["platform admin"])
    history = load_demo_history(admin=users["platform admin"], shipper=users["supplier shipping"],
                                ensure_user=ensure_user)
    procurement = load_demo_procurement(platform=users["platform admin"], shipper=users["supplier shipping"],
                                        ensure_user=ensure_user)
    presale = load_demo_presale(admin=users["platform admin"], owner=users["supplier owner"], shopper=shopper,
                                shipper=users["supplier shipping"], ensure_user=ensure_user)
    return {"users": len(users), **catalog, **history, **procurement, **presale}
