"""Helpers for tests/test_security.py: raw requests that carry exactly the headers given, and snapshots of the
rows an unauthorised request must leave untouched."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from shop.accounts.models import ApiToken, User
from shop.addresses.models import Address
from shop.cart.models import CartLine
from shop.catalog.models import Product, Sku, StockMovement
from shop.extensions import db
from shop.suppliers.models import ShippingRule, Supplier, SupplierMember

API = "/api/v1"


def raw(client, method: str, path: str, *, json_body=None, headers=None, data=None, content_type=None):
    """A request with exactly these headers: no CSRF header and no Bearer token added by ApiClient."""
    kwargs = {"method": method, "headers": dict(headers or {})}
    if json_body is not None:
        kwargs["data"] = json.dumps(json_body)
        kwargs["content_type"] = "application/json"
    if data is not None:
        kwargs["data"] = data
        kwargs["content_type"] = content_type or "text/plain"
    return client.raw.open(path, **kwargs)


def rows(stmt) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(stmt)]


def catalog_state() -> dict:
    """Everything a refused supplier-side request must leave as it was."""
    db.session.expire_all()
    snapshot = {
        "suppliers": rows(select(Supplier.id, Supplier.name, Supplier.status, Supplier.contact_phone,
                                 Supplier.is_demo, Supplier.kind).order_by(Supplier.id)),
        "members": rows(select(SupplierMember.id, SupplierMember.supplier_id, SupplierMember.user_id,
                               SupplierMember.role).order_by(SupplierMember.id)),
        "rules": rows(select(ShippingRule.supplier_id, ShippingRule.base_fee_fen).order_by(ShippingRule.supplier_id)),
        "products": rows(select(Product.id, Product.supplier_id, Product.name, Product.status, Product.min_price_fen)
                         .order_by(Product.id)),
        "skus": rows(select(Sku.id, Sku.product_id, Sku.price_fen, Sku.stock, Sku.is_active).order_by(Sku.id)),
        "movements": db.session.scalar(select(func.count()).select_from(StockMovement)),
    }
    db.session.commit()
    return snapshot


def account_state() -> dict:
    db.session.expire_all()
    snapshot = {
        "users": rows(select(User.id, User.email, User.display_name, User.is_platform_admin, User.session_version,
                             User.home_region_code).order_by(User.id)),
        "tokens": rows(select(ApiToken.id, ApiToken.user_id, ApiToken.revoked_at).order_by(ApiToken.id)),
        "addresses": rows(select(Address.id, Address.user_id, Address.recipient, Address.detail, Address.is_default)
                          .order_by(Address.id)),
        "cart": rows(select(CartLine.id, CartLine.user_id, CartLine.sku_id, CartLine.quantity).order_by(CartLine.id)),
    }
    db.session.commit()
    return snapshot
