"""The benchmark catalog: generated products (names, search text, SKUs) loaded with Core executemany, the app
configured for benchmarking, keyset cursors of the public list, and an SQL statement counter. Shared by
benchmarks.run and benchmarks.http."""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class BuildTimes:
    """Seconds spent building one database (build_database's answer)."""
    postgres: bool
    products: int
    skus: int
    schema_s: float
    insert_s: float
    index_s: float
    analyze_s: float
    settle: str  # what ran after the load (VACUUM ANALYZE + CHECKPOINT, wal_checkpoint, ...)


# (word, category slug, kind): kind decides product type, cold chain and return policy as the services require.
WORDS = [
    ("脆李", "plums", "fresh"), ("脐橙", "citrus", "fresh"), ("春橙", "citrus", "fresh"), ("锦橙", "citrus", "fresh"),
    ("血橙", "citrus", "fresh"), ("柚子", "citrus", "fresh"), ("香橙", "citrus", "fresh"),
    ("猕猴桃", "other-fruit", "fresh"), ("枇杷", "other-fruit", "fresh"), ("葡萄", "other-fruit", "fresh"),
    ("青菜头", "vegetables", "fresh"), ("魔芋", "vegetables", "fresh"), ("红薯", "vegetables", "fresh"),
    ("土豆", "vegetables", "fresh"), ("竹笋", "vegetables", "fresh"), ("榨菜", "zhacai", "pack"),
    ("蜂蜜", "bee-products", "pack"), ("白蜜", "bee-products", "pack"), ("红茶", "tea", "pack"),
    ("绿茶", "tea", "pack"), ("老鹰茶", "tea", "pack"), ("腊肉", "cured-meat", "proc"),
    ("香肠", "cured-meat", "proc"), ("独活", "medicinal-herbs", "dry"), ("党参", "medicinal-herbs", "dry"),
    ("黄连", "medicinal-herbs", "dry"), ("天麻", "medicinal-herbs", "dry"), ("菜籽油", "grain-oil", "pack"),
    ("大米", "grain-oil", "pack"), ("苕粉", "grain-oil", "pack"), ("花椒", "sichuan-pepper", "dry"),
    ("辣椒酱", "condiments", "pack"), ("豆瓣", "condiments", "pack"), ("黑木耳", "wood-ear", "dry"),
    ("银耳", "dried-goods", "dry"), ("香菇", "dried-goods", "dry"), ("核桃", "walnuts", "dry"),
    ("板栗", "dried-goods", "dry"), ("李子苗", "seeds-seedlings", "dry"), ("柑橘苗", "seeds-seedlings", "dry"),
]
QUALIFIERS = ["", "", "", "高山", "精选", "农家", "有机", "生态", "特级", "野生", "手工", "头茬"]
SPECS = [("5斤装", 2500, "箱"), ("10斤装", 5000, "箱"), ("500g", 550, "袋"), ("1kg", 1100, "袋"),
         ("2.5kg", 2600, "箱"), ("250g袋装", 300, "袋"), ("礼盒装", 1500, "盒"), ("家庭装", 4000, "箱"),
         ("尝鲜装", 1000, "箱"), ("整箱", 6000, "箱"), ("散装", 1000, "斤"), ("精品装", 2000, "盒")]
SUBTITLES = ["{d}特产 产地直发", "现摘现发 新鲜到家", "{d}农户直供", "{w} 顺丰包邮", "库区好物 消费帮扶",
             "高山种植 自然生长", "{d}{w} 当季上市", "源头好货 品质保证", "对口支援 爱心助农", "地道风味 {w}"]
FEATURES = ["果肉脆甜，汁多爽口", "高山种植，昼夜温差大", "传统工艺，风味地道", "农户分散种植，统一分拣",
            "当季采收，冷链直发", "无添加，口感醇厚", "合作社统一标准化管理", "产地检测合格，可溯源",
            "山区生态环境，少病虫害", "精选大果，坏果包赔"]
SUPPLIER_FORMS = [("{d}{t}{w}专业合作社", "cooperative", "93"), ("{d}{w}产业发展有限公司", "leading_enterprise", "91"),
                  ("{d}{t}{w}家庭农场", "family_farm", "92"), ("{d}{w}食品有限公司", "processor", "91")]
TOWNS = ["曲尺乡", "龙溪镇", "大昌镇", "草堂镇", "白帝镇", "泥溪镇", "龙角镇", "温泉镇", "红池坝镇", "石宝镇",
         "高家镇", "巫峡镇", "竹园镇", "江口镇", "南溪镇"]
GI_PAIRS = {("巫山", "脆李"), ("奉节", "脐橙"), ("涪陵", "榨菜"), ("涪陵", "青菜头"), ("巫溪", "独活"),
            ("丰都", "锦橙"), ("开州", "春橙"), ("云阳", "黑木耳")}
DEMO_NOTE = "基准测试数据：价格与库存为生成数据。"


def reservoir_districts() -> list[tuple[str, str, str]]:
    """(code, full name, short name) of the reservoir districts, from the reference CSV the app loads."""
    import csv

    out = []
    with open(REPO / "shop" / "regions" / "data" / "regions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["level"] == "county" and row["reservoir_district"].strip().lower() == "true":
                name = row["name"]
                short = name.replace("土家族自治县", "")
                if len(short) > 2 and short[-1] in "区县":
                    short = short[:-1]
                out.append((row["code"], name, short))
    return out


@dataclass
class Catalog:
    suppliers: list[dict]
    products: list[dict]
    skus: list[dict]
    seconds: float
    search_text_seconds: float
    distinct_names: int


@contextlib.contextmanager
def memoised_index_terms():
    """shop.catalog.search.index_terms is a pure function of its text; many products share a name, subtitle,
    description or supplier name, so memoise it while building. search_text_for/search_name_for (the functions
    the services call) are used unchanged and look index_terms up at call time. Verified afterwards against
    the unmemoised functions on a sample."""
    from shop.catalog import search

    original = search.index_terms
    search.index_terms = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        search.index_terms = original


def generate_catalog(n_products: int, seed: int) -> Catalog:
    from stdnum.cn import uscc

    from shop.catalog import search
    from shop.catalog.models import months_to_mask
    from shop.catalog.services import SKU_DEFAULTS, check_product, sku_problems

    started = time.perf_counter()
    rng = random.Random(seed)
    districts = reservoir_districts()
    by_code = {code: (name, short) for code, name, short in districts}
    epoch = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

    n_suppliers = max(20, min(600, n_products // 300))
    suppliers = []
    for sid in range(1, n_suppliers + 1):
        code, name, short = districts[(sid - 1) % len(districts)]
        form, kind, prefix = SUPPLIER_FORMS[sid % len(SUPPLIER_FORMS)]
        word = rng.choice(WORDS)[0]
        base = f"{prefix}{code}{sid:09d}"
        when = epoch + dt.timedelta(hours=sid)
        suppliers.append(dict(
            id=sid, name=form.format(d=name, t=rng.choice(TOWNS), w=word), kind=kind,
            credit_code=base + uscc.calc_check_digit(base), district_code=code, contact_name="张三",
            contact_phone=f"+86138{sid:08d}", address=f"{name}{rng.choice(TOWNS)}", sc_license_number=None,
            food_filing_number=None, farmer_linkage="带动周边农户种植、收购与务工。", represented_producers=[],
            is_demo=False, status="approved", status_reason="", created_at=when, reviewed_at=when))

    products, skus = [], []
    sku_id = 0
    search_seconds = 0.0
    names = set()
    with memoised_index_terms():
        for pid in range(1, n_products + 1):
            supplier = suppliers[rng.randrange(n_suppliers)]
            code = supplier["district_code"] if rng.random() < 0.85 else rng.choice(districts)[0]
            dname, short = by_code[code]
            word, slug, kind = rng.choice(WORDS)
            spec, weight, unit = rng.choice(SPECS)
            name = f"{rng.choice(QUALIFIERS)}{short}{word} {spec}"
            names.add(name)
            values = dict(
                name=name, subtitle=rng.choice(SUBTITLES).format(d=short, w=word),
                description=f"{dname}{word}，{rng.choice(FEATURES)}。{DEMO_NOTE}", category_id=slug,
                origin_district_code=code, product_type="raw_produce", return_policy="seven_day",
                sc_license_number=None, food_filing_number=None, gi_scheme=None, gi_number=None,
                gi_protected_area=None, cold_chain=False, storage="阴凉干燥", shelf_life_days=365)
            months = list(range(1, 13))
            if kind == "fresh":
                start = rng.randrange(12)
                months = sorted({(start + i) % 12 + 1 for i in range(rng.randint(3, 6))})
                values.update(cold_chain=True, return_policy="excluded_fresh", storage="0–4℃冷藏",
                              shelf_life_days=rng.randint(7, 30))
            elif kind == "pack":
                values.update(product_type="prepackaged", food_filing_number=f"YB1{code}{pid:07d}")
            elif kind == "proc":
                values.update(product_type="seller_processed", sc_license_number=f"SC104{code}{pid % 100000:05d}",
                              return_policy="excluded_with_confirmation", shelf_life_days=180)
            if (short, word) in GI_PAIRS:
                values.update(gi_scheme="agricultural_gi", gi_number="AGI-bench", gi_protected_area=f"重庆市{dname}")
            check_product(values)  # the services' own cross-field rules

            t0 = time.perf_counter()
            search_name = search.search_name_for(name)
            search_text = search.search_text_for(name=name, subtitle=values["subtitle"],
                                                 description=values["description"], supplier_name=supplier["name"],
                                                 district_name=dname)
            search_seconds += time.perf_counter() - t0

            prices = []
            for k in range(1 if rng.random() < 0.6 else 2):
                sku_id += 1
                price = rng.randrange(990, 19900, 10) * (k + 1)
                prices.append(price)
                sku = {**SKU_DEFAULTS, "spec": spec if k == 0 else f"{spec}×2", "unit": unit,
                       "weight_g": weight * (k + 1), "price_fen": price}
                assert not sku_problems(sku)
                sku.update(id=sku_id, product_id=pid, stock=rng.randint(0, 500), price_tiers=[],
                           created_at=epoch + dt.timedelta(minutes=10 * pid))
                skus.append(sku)
            when = epoch + dt.timedelta(minutes=10 * pid)
            values.update(id=pid, supplier_id=supplier["id"], images=[f"https://img.example.test/p/{pid}.jpg"],
                          sale_months_mask=months_to_mask(months), status="active", is_demo=False,
                          min_price_fen=min(prices), sales_count=min(50_000, int(rng.paretovariate(1.3) * 5) - 5),
                          search_name=search_name, search_text=search_text,
                          search_grams=search.grams_of(search_text), created_at=when, updated_at=when,
                          published_at=when)
            products.append(values)

    # The memo must not change a single byte: rebuild a sample with the plain functions.
    for product in random.Random(seed + 1).sample(products, min(300, len(products))):
        supplier = suppliers[product["supplier_id"] - 1]
        assert product["search_name"] == search.search_name_for(product["name"])
        assert product["search_text"] == search.search_text_for(
            name=product["name"], subtitle=product["subtitle"], description=product["description"],
            supplier_name=supplier["name"], district_name=by_code[product["origin_district_code"]][0])
    return Catalog(suppliers, products, skus, time.perf_counter() - started, search_seconds, len(names))


def make_app(database_url: str):
    from config import DevelopmentConfig
    from shop import create_app

    class BenchConfig(DevelopmentConfig):
        ENV_NAME = "benchmark"
        SECRET_KEY = "bench-not-secret"
        SQLALCHEMY_DATABASE_URI = database_url
        STRIPE_SECRET_KEY = "sk_test_bench"
        STRIPE_WEBHOOK_SECRET = "whsec_bench"
        STRIPE_API_BASE = None
        RATELIMIT_STORAGE_URI = "memory://"

    import logging

    app = create_app(BenchConfig)
    logging.getLogger("shop").setLevel(logging.WARNING)
    return app


def build_database(app, catalog: Catalog, *, drop_trgm_during_load: bool, sqlite_analyze: bool = False
                   ) -> BuildTimes:
    """Drop and create every table, load the reference data and the catalog (Core executemany, batches of
    5,000), recreate the trigram indexes on PostgreSQL when they were dropped for the load, and settle."""
    from sqlalchemy import select, text

    from shop.catalog.models import TRIGRAM_INDEX_DDL, Category, Product, Sku
    from shop.catalog.seed import load_categories
    from shop.extensions import db
    from shop.regions.services import load_reference_data
    from shop.suppliers.models import Supplier

    with app.app_context():
        t0 = time.perf_counter()
        db.drop_all()
        db.create_all()  # on PostgreSQL the after_create listener runs TRIGRAM_INDEX_DDL
        load_reference_data()
        load_categories()
        categories = dict(db.session.execute(select(Category.slug, Category.id)).all())
        db.session.remove()
        schema_s = time.perf_counter() - t0

        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        if postgres and drop_trgm_during_load:
            with engine.begin() as conn:
                conn.execute(text("DROP INDEX IF EXISTS ix_product_search_text_trgm"))
                conn.execute(text("DROP INDEX IF EXISTS ix_product_search_name_trgm"))
                conn.execute(text("DROP INDEX IF EXISTS ix_product_search_grams"))

        products = [{**p, "category_id": categories[p["category_id"]]} for p in catalog.products]
        t0 = time.perf_counter()
        for table, rows in ((Supplier.__table__, catalog.suppliers), (Product.__table__, products),
                            (Sku.__table__, catalog.skus)):
            with engine.begin() as conn:
                for i in range(0, len(rows), 5000):
                    conn.execute(table.insert(), rows[i:i + 5000])  # Core executemany
        insert_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        with engine.begin() as conn:
            if postgres:
                for table in ("supplier", "product", "sku"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
                if drop_trgm_during_load:
                    for statement in TRIGRAM_INDEX_DDL:
                        conn.execute(text(statement))
        index_s = time.perf_counter() - t0
        # Steady state before measuring. PostgreSQL: what autovacuum would soon do anyway (statistics, visibility
        # map, hint bits), then a checkpoint so the load's dirty pages are not written during the measurements.
        # SQLite: nothing runs ANALYZE in the app or its migrations, so by default there are no statistics.
        t0 = time.perf_counter()
        if postgres:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                conn.exec_driver_sql("CHECKPOINT")
        else:
            raw = engine.raw_connection()  # no BEGIN IMMEDIATE around these
            try:
                if sqlite_analyze:
                    raw.driver_connection.execute("ANALYZE")
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        analyze_s = time.perf_counter() - t0
    settle = ("VACUUM ANALYZE + CHECKPOINT" if postgres else
              "ANALYZE + wal_checkpoint" if sqlite_analyze else "wal_checkpoint (no ANALYZE)")
    return BuildTimes(postgres=postgres, products=len(products), skus=len(catalog.skus), schema_s=schema_s,
                      insert_s=insert_s, index_s=index_s, analyze_s=analyze_s, settle=settle)


def public_products(stmt):
    """stmt restricted to what the public list shows: active products of approved suppliers."""
    from shop.catalog.models import Product
    from shop.suppliers.models import Supplier

    return (stmt.join(Product.supplier).join(Product.origin_district)
            .where(Product.status == "active", Supplier.status == "approved"))


def cursor_values_before(app, keys, page: int, limit: int) -> list:
    """The sort key of the last row of the page before `page` (row (page-1)*limit), read directly with OFFSET:
    the cursor (after encode_cursor) a client would hold after walking page-1 pages of `limit` rows."""
    from sqlalchemy import select

    from shop.catalog.models import Product
    from shop.extensions import db
    from shop.pagination import order_by

    with app.app_context():
        values = list(db.session.execute(public_products(select(*[k.column for k in keys]).select_from(Product))
                                         .order_by(*order_by(keys)).offset((page - 1) * limit - 1).limit(1)).one())
        db.session.remove()
    return values


class StatementLog:
    """Every SQL statement the engine sends while capturing (sqlalchemy before_cursor_execute)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine = engine
        self.active = False
        self.statements: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def capture(self):
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on)


TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)
