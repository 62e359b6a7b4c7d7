"""The category tree. Slugs are stable identifiers (clients and demo data refer to them); names may change."""
from __future__ import annotations

from sqlalchemy import select

from shop.catalog.models import Category
from shop.extensions import db
from shop.transaction import transaction

# (slug, name, parent slug); the order in the list is the display order among siblings.
CATEGORIES: list[tuple[str, str, str | None]] = [
    ("fresh-fruit", "鲜果", None),
    ("citrus", "柑橘", "fresh-fruit"),
    ("plums", "李子", "fresh-fruit"),
    ("other-fruit", "其他鲜果", "fresh-fruit"),
    ("vegetables", "蔬菜", None),
    ("bee-products", "蜂产品", None),
    ("tea", "茶叶", None),
    ("cured-meat", "腌腊制品", None),
    ("medicinal-herbs", "中药材", None),
    ("tcm-decoction-pieces", "中药饮片", "medicinal-herbs"),
    ("grain-oil", "粮油", None),
    ("condiments", "调味品", None),
    ("zhacai", "榨菜", "condiments"),
    ("sichuan-pepper", "花椒", "condiments"),
    ("dried-goods", "干货山珍", None),
    ("wood-ear", "木耳", "dried-goods"),
    ("walnuts", "核桃", "dried-goods"),
    ("seeds-seedlings", "种子种苗", None),
]


def load_categories() -> dict:
    """Upsert the tree by slug. Idempotent: a second run adds and changes nothing. Returns {"categories": added}.
    One unit of work (part of the caller's when called inside one: the demo loader)."""
    with transaction():
        existing = {c.slug: c for c in db.session.scalars(select(Category))}
        added = 0
        positions: dict[str | None, int] = {}
        for slug, name, parent_slug in CATEGORIES:  # parents are listed before their children
            parent = existing[parent_slug] if parent_slug else None
            position = positions[parent_slug] = positions.get(parent_slug, -1) + 1
            category = existing.get(slug)
            if category is None:
                category = existing[slug] = Category(slug=slug, path="/")
                db.session.add(category)
                added += 1
            for key, value in (("name", name), ("parent_id", parent.id if parent else None),
                               ("position", position)):
                if getattr(category, key) != value:
                    setattr(category, key, value)
            db.session.flush()  # the id is part of the path
            path = f"{parent.path if parent else '/'}{category.id}/"
            if category.path != path:
                category.path = path
    return {"categories": added}
