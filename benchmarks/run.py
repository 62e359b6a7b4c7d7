"""Benchmarks of the catalog (list, keyset pages, search) and of checkout under concurrency.

    python -m benchmarks.run                 # 100,000 products, SQLite then PostgreSQL (a throwaway cluster)
    python -m benchmarks.run --quick         # 10,000 products, smaller checkout run
    python -m benchmarks.run --read-scaling-only   # SQLite reads: gunicorn 2 worker processes vs 1 (~20 s)
    python -m benchmarks.run --help

Every figure is also printed as a ratio to a baseline measured in the same run on the same database (a GET
/api/v1/regions/500237): in-process figures against its in-process median latency, served figures against its
requests/second and p50 under the same client threads. Ratios are what compare across machines.

Traffic goes to 127.0.0.1 only. Everything started here (PostgreSQL cluster, localstripe, gunicorn, temporary
files) is stopped and removed on exit. The table is printed at the end and written as JSON to
bench-results/latest.json. See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import gc
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
PASSWORD = "correct-horse-battery-9"
BUYER_COUNTY = "320102"  # 南京市玄武区
BASELINE_PATH = "/api/v1/regions/500237"  # 巫山县: one primary-key read, serialised


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- results ------------------------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    section: str
    metric: str
    value: float | int | None
    unit: str
    baseline: str | None = None  # key into Report.baselines; None for counts
    info: str = ""
    ratio: float | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    baselines: dict[str, dict] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    plans: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def baseline(self, key: str, value: float, unit: str, what: str) -> None:
        self.baselines[key] = {"value": value, "unit": unit, "what": what}

    def add(self, backend, section, metric, value, unit, baseline=None, info=""):
        self.rows.append(Row(backend, section, metric, value, unit, baseline, info))

    def check(self, backend: str, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"backend": backend, "check": name, "ok": bool(ok), "detail": detail})
        if not ok:
            log(f"CHECK FAILED [{backend}] {name}: {detail}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        log(text)

    def compute_ratios(self) -> None:
        for row in self.rows:
            base = self.baselines.get(row.baseline or "")
            if base and row.value is not None and base["value"]:
                row.ratio = _to_base_unit(row.value, row.unit) / _to_base_unit(base["value"], base["unit"])


def _to_base_unit(value: float, unit: str) -> float:
    return {"ms": value / 1000.0, "s": value}.get(unit, value)


# --- catalog generation -------------------------------------------------------------------------------------

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


# --- database and app ---------------------------------------------------------------------------------------


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


def build_database(app, catalog: Catalog, backend: str, report: Report, *, drop_trgm_during_load: bool,
                   sqlite_analyze: bool = False) -> None:
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
        n_products = len(products)
    report.add(backend, "build", "schema + reference data", schema_s, "s", "inproc")
    report.add(backend, "build", f"insert {n_products:,} products + {len(catalog.skus):,} SKUs", insert_s, "s",
               "inproc", f"{n_products / insert_s:,.0f} products/s, executemany batches of 5,000")
    if postgres:
        report.add(backend, "build", "trigram GIN indexes (TRIGRAM_INDEX_DDL)", index_s, "s", "inproc",
                   "created after the load" if drop_trgm_during_load else "kept during the load")
    settle = ("VACUUM ANALYZE + CHECKPOINT" if postgres else
              "ANALYZE + wal_checkpoint" if sqlite_analyze else "wal_checkpoint (no ANALYZE)")
    report.add(backend, "build", settle, analyze_s, "s", "inproc")


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


def timed(fn, reps: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def interleaved(fns: dict, reps: int, warmup: int = 2) -> dict:
    """Time several functions round-robin, so that drift on a shared machine hits all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {key: [] for key in fns}
    for _ in range(reps):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[key].append(time.perf_counter() - t0)
    return out


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def pct(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0] * 1000.0 if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1] * 1000.0


def summarise_plan(plan: str) -> str:
    if "Execution Time" not in plan:  # SQLite's EXPLAIN QUERY PLAN: the product access path and any sort
        lines = [line.strip() for line in plan.splitlines()
                 if re.match(r"\s*(SEARCH|SCAN) product\b", line) or "TEMP B-TREE" in line
                 or line.strip() == "SCAN supplier"]
        return " / ".join(lines)
    used = re.findall(r"(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on|USING (?:COVERING )?INDEX)"
                      r" (\w+)", plan)
    seq = re.findall(r"(?:Seq Scan on|SCAN) (\w+)", plan)
    removed = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    parts = []
    if used:
        parts.append("index " + ",".join(dict.fromkeys(used)))
    if seq:
        parts.append("full scan " + ",".join(dict.fromkeys(seq)))
    if removed:
        parts.append(f"rows removed by filter {sum(removed):,}")
    if re.search(r"\bSort\b", plan):
        parts.append("sort")
    total = re.search(r"Execution Time: ([\d.]+) ms", plan)
    if total:
        parts.append(f"{float(total.group(1)):.1f} ms")
    return "; ".join(parts)


def explain(app, statement: str, params, backend: str) -> str:
    from shop.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            if backend == "postgresql":
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
                text_ = "\n".join(r[0] for r in rows)
            else:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                text_ = "\n".join(str(r[-1]) for r in rows)
            conn.rollback()
    return text_


def product_list_statement(statements) -> tuple[str, object]:
    for statement, params in statements:
        if "FROM product" in statement:
            return statement, params
    raise RuntimeError("no product statement captured")


# --- in-process benchmarks ----------------------------------------------------------------------------------


def bench_inprocess(app, backend: str, n_products: int, args, report: Report) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import contains_eager

    from shop.catalog import queries, search
    from shop.catalog.models import Product
    from shop.extensions import db
    from shop.pagination import encode_cursor, order_by
    from shop.suppliers.models import Supplier

    client = app.test_client()
    with app.app_context():
        statements = StatementLog(db.engine)

    def get(url: str):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response

    # Baseline: one primary-key read through the whole stack. It is measured alone before and after this
    # section and also inside every timed group (round-robin with the figures), and the baseline is the median
    # of all those samples: figures and baseline see the same machine at the same moments.
    base_before = timed(lambda: get(BASELINE_PATH), max(50, args.reps * 10), warmup=10)
    base_within: list[float] = []

    def measure(fns: dict, reps: int) -> dict:
        out = interleaved({**fns, "__baseline__": lambda: get(BASELINE_PATH)}, reps)
        base_within.extend(out.pop("__baseline__"))
        return out

    inproc = f"{backend}:inproc"
    baseline_at = len(report.rows)
    for row in report.rows:
        if row.backend == backend and row.baseline == "inproc":
            row.baseline = inproc

    limit = 20
    last_page = n_products // limit  # page 5,000 of 100,000 products
    mid_page = last_page // 2

    def public(stmt):
        return (stmt.join(Product.supplier).join(Product.origin_district)
                .where(Product.status == "active", Supplier.status == "approved"))

    def cursor_values(keys, page: int) -> list:
        """The sort key of the last row of the page before `page` (row (page-1)*limit), read directly with
        OFFSET: the cursor a client would hold after walking page-1 pages."""
        with app.app_context():
            values = list(db.session.execute(public(select(*[k.column for k in keys]).select_from(Product))
                                             .order_by(*order_by(keys)).offset((page - 1) * limit - 1)
                                             .limit(1)).one())
            db.session.remove()
        return values

    def full_rows(stmt):
        return stmt.options(contains_eager(Product.supplier), contains_eager(Product.origin_district))

    def offset_page(keys, position):
        with app.app_context():
            stmt = full_rows(public(select(Product))).order_by(*order_by(keys)).offset(position).limit(limit)
            ids = [p.id for p in db.session.scalars(stmt).unique()]
            db.session.remove()
        return ids

    def keyset_page(sort, cursor):
        with app.app_context():
            ids = [p["id"] for p in queries.list_public_products(limit=limit, cursor=cursor, sort=sort)["items"]]
            db.session.remove()
        return ids

    for sort in ("newest", "price_asc"):
        keys = queries.SORT_KEYS[sort]
        section = f"list sort={sort}"
        url1 = f"/api/v1/products?limit={limit}&sort={sort}"
        pages = {page: cursor_values(keys, page) for page in (mid_page, last_page)}
        urls = {1: url1, **{page: f"{url1}&cursor={encode_cursor(v)}" for page, v in pages.items()}}
        http = measure({page: (lambda u=url: get(u)) for page, url in urls.items()}, args.reps)
        report.add(backend, section, f"GET page 1 (limit {limit})", ms(http[1]), "ms", inproc)
        for page in pages:
            report.add(backend, section, f"GET page {page:,} (keyset cursor)", ms(http[page]), "ms", inproc,
                       f"{ms(http[page]) / ms(http[1]):.1f}x page 1")

        query_fns = {}
        for page, values in pages.items():
            position = (page - 1) * limit
            cursor = encode_cursor(values)
            http_ids = [item["id"] for item in get(urls[page]).get_json()["items"]]
            with statements.capture() as captured:  # outside any app context: the request gets its own session
                get(urls[page])
            plan = explain(app, *product_list_statement(captured), backend)
            report.plans[f"{backend}: list sort={sort} page {page}"] = {"summary": summarise_plan(plan), "plan": plan}
            offset_ids = offset_page(keys, position)
            report.check(backend, f"{sort}: keyset page {page:,} == OFFSET {position:,} page",
                         http_ids == offset_ids and len(http_ids) == limit,
                         f"{len(http_ids)} rows, first id {http_ids[:1]}")
            query_fns[(page, "keyset")] = lambda c=cursor: keyset_page(sort, c)
            query_fns[(page, "offset")] = lambda pos=position: offset_page(keys, pos)
        q = measure(query_fns, args.reps)
        for page in pages:
            position = (page - 1) * limit
            keyset_ms = ms(q[(page, "keyset")])
            report.add(backend, section, f"query page {page:,}: keyset (list_public_products)", keyset_ms, "ms",
                       inproc, "ORM query only, no HTTP/serialisation")
            report.add(backend, section, f"query page {page:,}: naive OFFSET {position:,}",
                       ms(q[(page, "offset")]), "ms", inproc, f"{ms(q[(page, 'offset')]) / keyset_ms:.1f}x keyset")

    # SQL statements per request: the same for 5 and 100 rows.
    cursor = encode_cursor(cursor_values(queries.SORT_KEYS["newest"], last_page))
    for label, query in (("page 1 newest", "sort=newest"), ("page 1 price_asc", "sort=price_asc"),
                         ("deep cursor newest", f"cursor={cursor}"),
                         ("search q=巫山脆李", "q=" + urllib.parse.quote("巫山脆李"))):
        counts, control = {}, {}
        for size in (5, 100):
            with statements.capture() as captured:
                get(f"/api/v1/products?limit={size}&{query}")
            control[size] = [s for s, _ in captured if TRANSACTION_CONTROL.match(s)]
            counts[size] = len(captured) - len(control[size])
        report.add(backend, "SQL statements per request", f"{label}: limit 5 / limit 100",
                   counts[5], "stmts", None, f"{counts[5]} / {counts[100]}"
                   + (f" (+ {', '.join(sorted(set(control[5])))})" if control[5] else ""))
        report.check(backend, f"statements per request independent of page size ({label})",
                     counts[5] == counts[100], f"limit 5: {counts[5]}, limit 100: {counts[100]}")

    # Search: the terms round-robin.
    search_urls = {q: f"/api/v1/products?limit={limit}&q={urllib.parse.quote(q)}" for q in args.search_terms}
    search_samples = measure({q: (lambda u=url: get(u)) for q, url in search_urls.items()}, args.search_reps)
    for q in args.search_terms:
        url, samples = search_urls[q], search_samples[q]
        items = get(url).get_json()["items"]
        needle = search.query_needle(q)
        with app.app_context():
            count_stmt = public(select(func.count()).select_from(Product)).where(
                search.matches(needle, db.engine.dialect.name))
            total = db.session.scalar(count_stmt)
            in_name = db.session.scalar(count_stmt.where(search.rank(needle) == 0))
            db.session.remove()
        with statements.capture() as captured:
            get(url)
        plan = explain(app, *product_list_statement(captured), backend)
        summary = summarise_plan(plan)
        report.plans[f"{backend}: search q={q}"] = {"summary": summary, "plan": plan}
        trgm = "trgm" in summary
        grams = "ix_product_search_grams" in summary
        index_note = f"trigram index {'USED' if trgm else 'not used'}" if len(needle) >= 3 else \
            f"gram index {'USED' if grams else 'not used'}"
        report.add(backend, "search (100k)" if n_products >= 100_000 else f"search ({n_products:,})",
                   f"q={q} ({len(needle)} chars)", ms(samples), "ms", inproc,
                   f"{total:,} matches ({in_name:,} in name), page {len(items)}"
                   + (f"; {index_note}" if backend == "postgresql" else ""))
        if backend == "postgresql" and n_products >= 10_000:  # a tiny table is rightly scanned
            if len(needle) >= 3:
                report.check(backend, f"trigram index used for q={q}", trgm, summary)
            elif len(needle) == 2 and not needle.isascii():
                report.check(backend, f"gram index used for q={q}", grams, summary)

    with app.app_context():
        statements.close()
    base_after = timed(lambda: get(BASELINE_PATH), max(50, args.reps * 10), warmup=10)
    baseline_ms = ms(base_before + base_within + base_after)
    report.baseline(inproc, baseline_ms, "ms", f"GET {BASELINE_PATH} in-process, median of samples taken "
                                               "before, between (round-robin) and after the figures")
    report.rows.insert(baseline_at, Row(
        backend, "baseline", f"GET {BASELINE_PATH} (in-process)", baseline_ms, "ms", inproc,
        f"alone before {ms(base_before):.2f} / round-robin {ms(base_within):.2f} / alone after {ms(base_after):.2f}"))


# --- served: checkout under concurrency ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


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
    """A supplier (registered and approved through the services) with one product: n_skus hot SKUs of `stock`
    units and a probe SKU; buyers (account, API token, address, all through the services), enough that none
    places more than half of the app's MAX_UNPAID_ORDERS (the app refuses more unpaid orders per buyer)."""
    from stdnum.cn import uscc

    from shop.accounts.services import create_admin, create_token, register_user
    from shop.addresses.services import create_address
    from shop.catalog import services as catalog
    from shop.catalog.models import Category, Sku
    from shop.extensions import db
    from shop.suppliers import services as suppliers
    from sqlalchemy import select

    with app.app_context():
        admin = create_admin(email="bench-admin@example.test", password=PASSWORD)
        owner = register_user(email="bench-owner@example.test", password=PASSWORD, display_name="巫山合作社理事长")
        base = "93500237999999999"[:17]
        supplier = suppliers.create_supplier(
            user=owner, name="巫山县曲尺乡脆李秒杀专业合作社", kind="cooperative",
            credit_code=base + uscc.calc_check_digit(base), district_code="500237", contact_name="李四",
            contact_phone="+8613812345678", address="巫山县曲尺乡", farmer_linkage="带动 120 户果农")
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
            product_type="raw_produce", return_policy="excluded_fresh", cold_chain=True, sale_months=[6, 7, 8],
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


def checkout_attempts(args) -> int:
    total_stock = args.hot_skus * args.stock
    return total_stock + int(total_stock * args.extra)


def checkout_body(address_id: int, sku_id: int) -> dict:
    return {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}


def bench_checkout_inprocess(app, backend: str, world: World, args, report: Report) -> None:
    """One checkout through the test client: its SQL statement count and latency (localstripe included)."""
    from shop.extensions import db

    client = app.test_client()
    counter = itertools.count()

    def one():
        k = next(counter)
        _, token, address_id = world.probe_buyers[k // world.orders_per_buyer]
        response = client.post("/api/v1/checkout", json=checkout_body(address_id, world.probe_sku),
                               headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"probe-{k}"})
        if response.status_code != 201 or response.get_json()["payment_error"]:
            raise RuntimeError(f"checkout: {response.status_code} {response.get_data(as_text=True)[:300]}")

    with app.app_context():
        statements = StatementLog(db.engine)
    samples = timed(one, args.reps)
    with statements.capture() as captured:
        one()
    statements.close()
    report.add(backend, "checkout (in-process)", "POST /checkout, 1 thread", ms(samples), "ms", f"{backend}:inproc",
               f"{len(captured)} SQL statements + 1 localstripe call")
    report.plans[f"{backend}: checkout statements"] = {
        "summary": f"{len(captured)} statements, {sum(1 for st, _ in captured if st.startswith('SELECT'))} SELECTs",
        "plan": "\n".join(" ".join(st.split())[:120] for st, _ in captured)}


@contextlib.contextmanager
def served_app(stack_dir: Path, database_url: str, stripe_base: str, args, *, workers: int | None = None,
               threads: int | None = None, config: Path | None = None, wait: bool = True):
    """gunicorn (default) or werkzeug's threaded server on a free loopback port. workers/threads override
    --gunicorn-workers/--gunicorn-threads; config is a gunicorn config file (-c). wait=False: gunicorn is
    started, not waited for (the caller calls wait_http, so that several servers start at once)."""
    workers = workers or args.gunicorn_workers
    threads = threads or args.gunicorn_threads
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    if args.server == "werkzeug":
        from werkzeug.serving import make_server

        app = make_app(database_url)
        app.config["STRIPE_API_BASE"] = stripe_base
        server = make_server(LOOPBACK, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            wait_http(base + BASELINE_PATH, 30)
            yield base, "werkzeug threaded (in the benchmark process)", None
        finally:
            server.shutdown()
            from shop.extensions import db

            with app.app_context():
                db.engine.dispose()
        return
    env = {**os.environ, "DATABASE_URL": database_url, "SHOP_ENV": "development", "SECRET_KEY": "bench-not-secret",
           "STRIPE_API_BASE": stripe_base, "STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_WEBHOOK_SECRET": "whsec_bench"}
    env.pop("REDIS_URL", None)
    log_path = stack_dir / f"gunicorn-{port}.log"
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
           "-b", f"{LOOPBACK}:{port}", "--graceful-timeout", "5",
           "--error-logfile", str(log_path), "--log-level", "warning", *(["-c", str(config)] if config else []),
           "wsgi:app"]
    with open(log_path, "ab") as fh:
        proc = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
    try:
        if wait:
            wait_http(base + BASELINE_PATH, 60, proc=proc)
        yield base, f"gunicorn -w {workers} --threads {threads} (gthread)", proc.pid
    finally:
        stop_process(proc, "gunicorn")
        errors = log_path.read_text(errors="replace")
        if "Traceback" in errors:
            log(f"gunicorn logged errors (see tail):\n{errors[-2000:]}")


def wait_http(url: str, timeout: float, proc=None) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout}s")
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen, what: str) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        log(f"{what} did not stop on SIGTERM; killing pid {proc.pid}")
        proc.kill()
        proc.wait(5)


PIDS: dict[str, int] = {}  # processes whose CPU time is accounted during the checkout storm


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds of each named process and its live descendants, from /proc (Linux only; {}
    elsewhere). This process is counted with os.times()."""
    entries: dict[int, tuple[int, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        entries[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in entries.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for label, root in roots.items():
        total, stack = 0, [root]
        while stack:
            pid = stack.pop()
            if pid in entries and pid != os.getpid():
                total += entries[pid][1]
                stack.extend(children.get(pid, []))
        out[label] = total / tick
    me = os.times()
    out["client (this process)"] = me.user + me.system
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/stat") as fh:
            jiffies = [int(x) for x in fh.readline().split()[1:]]
        out["machine (all processes)"] = (sum(jiffies[:8]) - jiffies[3] - jiffies[4]) / tick  # minus idle, iowait
    return out


def run_threads(n: int, target) -> float:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def http_load(n_threads: int, seconds: float, urls) -> tuple[list[float], int, float]:
    """n_threads clients GET urls (alternating at random) for `seconds`: (latencies of 200s, non-200, elapsed)."""
    import requests

    latencies, failures = [], [0]
    stop_at = time.monotonic() + seconds

    def client(i):
        local, rng = [], random.Random(i)
        with requests.Session() as s:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = s.get(rng.choice(urls), timeout=30)
                except requests.RequestException:
                    failures[0] += 1
                    continue
                if r.status_code == 200:
                    local.append(time.perf_counter() - t0)
                else:
                    failures[0] += 1
        latencies.extend(local)

    return latencies, failures[0], run_threads(n_threads, client)


def bench_served(backend: str, base: str, server: str, world: World, args, report: Report, app,
                 server_pid: int | None = None) -> None:
    import requests

    served = f"{backend}:served"
    section = f"checkout served ({server})"
    tag = f"{backend}-{os.getpid()}-{time.time_ns()}"
    product_urls = (f"{base}/api/v1/products?limit=20", f"{base}/api/v1/products/{world.product_id}")

    load = http_load
    load(args.threads, 1.0, [base + BASELINE_PATH])  # warm up: connections, worker imports, caches

    # Baseline: the same server and number of client threads, one primary-key read per request; measured
    # before and after the checkout storm, the mean is the baseline (the drift shows how noisy the machine was).
    before, failed_before, elapsed_before = load(args.threads, args.baseline_seconds / 2, [base + BASELINE_PATH])
    if args.readers:
        alone, _, alone_s = load(args.readers, args.baseline_seconds / 2, product_urls)

    # Checkout storm on a few hot SKUs, with readers browsing meanwhile.
    n = len(world.hot_skus)
    total_stock = n * world.initial_stock
    attempts = checkout_attempts(args)
    counter = itertools.count()
    results: list[tuple[int, float, str | None, bool]] = []  # (status, seconds, problem code, payment_error)
    reads: list[tuple[int, float]] = []
    done = threading.Event()
    deadline = time.monotonic() + args.checkout_timeout

    def buyer(i):
        local = []
        with requests.Session() as s:  # one client connection, many buyers' tokens (a flash sale)
            while time.monotonic() < deadline:
                k = next(counter)
                if k >= attempts:
                    break
                _, token, address_id = world.buyers[k % len(world.buyers)]
                s.headers["Authorization"] = f"Bearer {token}"
                body = checkout_body(address_id, world.hot_skus[k % n])
                t0 = time.perf_counter()
                try:
                    r = s.post(base + "/api/v1/checkout", json=body, headers={"Idempotency-Key": f"{tag}-{k}"},
                               timeout=60)
                except requests.RequestException as error:
                    local.append((0, time.perf_counter() - t0, type(error).__name__, False))
                    continue
                seconds = time.perf_counter() - t0
                data = r.json() if "json" in r.headers.get("Content-Type", "") else {}
                local.append((r.status_code, seconds, data.get("code"),
                              bool(r.status_code == 201 and data.get("payment_error"))))
        results.extend(local)

    def browser(i):
        local, rng = [], random.Random(i)
        with requests.Session() as s:
            while not done.is_set():
                t0 = time.perf_counter()
                try:
                    status = s.get(rng.choice(product_urls), timeout=60).status_code
                except requests.RequestException:
                    status = 0
                local.append((status, time.perf_counter() - t0))
        reads.extend(local)

    readers = [threading.Thread(target=browser, args=(i,), daemon=True) for i in range(args.readers)]
    for t in readers:
        t.start()
    roots = {k: v for k, v in {"app server": server_pid, "postgres": PIDS.get(f"{backend}:postgres"),
                               "localstripe": PIDS.get("localstripe")}.items() if v}
    cpu_before = cpu_seconds(roots)
    elapsed = run_threads(args.threads, buyer)
    cpu_after = cpu_seconds(roots)
    done.set()
    for t in readers:
        t.join()

    after, failed_after, elapsed_after = load(args.threads, args.baseline_seconds / 2, [base + BASELINE_PATH])
    rps_before, rps_after = len(before) / elapsed_before, len(after) / elapsed_after
    rps = (rps_before + rps_after) / 2
    p50 = statistics.median(before + after) * 1000
    report.baseline(served, rps, "req/s", f"GET {BASELINE_PATH} served by {server}, {args.threads} client "
                                          "threads (mean of before/after the storm)")
    report.baseline(served + ":p50", p50, "ms", f"p50 of GET {BASELINE_PATH}, {args.threads} client threads")
    report.add(backend, section, f"baseline GET {BASELINE_PATH}, {args.threads} threads", rps, "req/s", served,
               f"before {rps_before:.0f} / after {rps_after:.0f} req/s, p50 {p50:.1f} ms, "
               f"{failed_before + failed_after} non-200")

    created = [r for r in results if r[0] == 201]
    conflicts = [r for r in results if r[0] == 409 and r[2] == "insufficient_stock"]
    other_kinds: dict[str, int] = {}
    for status, _, code, _ in results:
        if status != 201 and not (status == 409 and code == "insufficient_stock"):
            other_kinds[f"{status}:{code}"] = other_kinds.get(f"{status}:{code}", 0) + 1
    ok_lat = [r[1] for r in created] or [float("nan")]
    all_lat = [r[1] for r in results] or [float("nan")]
    timed_out = len(results) < attempts
    report.add(backend, section, f"checkout: orders/s ({args.threads} threads, {n} SKUs x {world.initial_stock})",
               len(created) / elapsed, "orders/s", served,
               f"{len(results):,} attempts in {elapsed:.1f} s" + (" (stopped at --checkout-timeout)" if timed_out
                                                                 else ""))
    report.add(backend, section, "checkout 201: p50", ms(ok_lat), "ms", served + ":p50")
    report.add(backend, section, "checkout 201: p95", pct(ok_lat, 95), "ms", served + ":p50")
    report.add(backend, section, "checkout all answers: p95", pct(all_lat, 95), "ms", served + ":p50",
               "409s included")
    report.add(backend, section, "checkout 201 orders", len(created), "count")
    report.add(backend, section, "checkout 409 insufficient_stock", len(conflicts), "count",
               info=f"expected {attempts - total_stock:,}" if not timed_out else "")
    report.add(backend, section, "checkout other answers", sum(other_kinds.values()), "count",
               info=", ".join(f"{k} x{v}" for k, v in sorted(other_kinds.items())) or "none")
    payment_errors = sum(1 for r in created if r[3])
    if payment_errors:
        report.add(backend, section, "201 with payment_error (localstripe)", payment_errors, "count")
    if args.readers:
        read_ok = [r[1] for r in reads if r[0] == 200] or [float("nan")]
        report.add(backend, section, f"read mix alone ({args.readers} threads): p50 / p95", ms(alone), "ms",
                   served + ":p50", f"p95 {pct(alone, 95):.1f} ms, {len(alone) / alone_s:.0f} req/s "
                                    "(GET /products page 1 and GET /products/{id})")
        report.add(backend, section, "read mix during the storm: p50", ms(read_ok), "ms", served + ":p50",
                   f"{len(reads):,} GETs, {sum(1 for r in reads if r[0] != 200)} non-200, "
                   f"{len(reads) / elapsed:.0f} req/s")
        report.add(backend, section, "read mix during the storm: p95", pct(read_ok, 95), "ms", served + ":p50",
                   f"{pct(read_ok, 95) / pct(alone, 95):.1f}x alone")

    if cpu_after:
        used = {k: (cpu_after[k] - cpu_before.get(k, 0.0)) / elapsed for k in cpu_after}
        machine = used.pop("machine (all processes)", None)
        ours = sum(used.values())
        info = ", ".join(f"{k} {v:.2f}" for k, v in used.items())
        if machine is not None:
            info += f"; other processes on the machine {max(0.0, machine - ours):.2f}"
        report.add(backend, section, f"CPU busy during the storm (of {os.cpu_count()} cores)", ours, "cores", None,
                   info)

    verify_stock(app, backend, world, len(created), report, section, attempts_done=len(results))


def verify_stock(app, backend: str, world: World, created: int, report: Report, section: str,
                 attempts_done: int) -> None:
    from sqlalchemy import func, select

    from shop.catalog.models import Sku, StockMovement
    from shop.extensions import db
    from shop.orders.models import Order, OrderLine

    with app.app_context():
        db.session.remove()
        buyer_ids = [b[0] for b in world.buyers]
        oversold = 0
        sold_total = 0
        for sku_id in world.hot_skus:
            stock = db.session.scalar(select(Sku.stock).where(Sku.id == sku_id))
            sold = db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                     .where(OrderLine.sku_id == sku_id))
            moved = db.session.scalar(select(func.coalesce(func.sum(StockMovement.delta), 0))
                                      .where(StockMovement.sku_id == sku_id))
            sold_total += sold
            oversold += max(0, sold - world.initial_stock)
            report.check(backend, f"SKU {sku_id}: stock >= 0", stock >= 0, f"stock {stock}")
            report.check(backend, f"SKU {sku_id}: initial - sold == stock", world.initial_stock - sold == stock,
                         f"{world.initial_stock} - {sold} vs {stock}")
            report.check(backend, f"SKU {sku_id}: sum(StockMovement.delta) == stock", moved == stock,
                         f"movements {moved} vs stock {stock}")
        orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.buyer_id.in_(buyer_ids)))
        db.session.remove()
    report.add(backend, section, "oversell (units sold beyond initial stock)", oversold, "units",
               info=f"{sold_total:,} units sold of {world.initial_stock * len(world.hot_skus):,}")
    report.check(backend, "oversell == 0", oversold == 0, f"{oversold} units")
    report.check(backend, "orders in database == 201 answers", orders == created, f"{orders} vs {created}")
    if attempts_done >= world.initial_stock * len(world.hot_skus) * 1.05:
        report.check(backend, "all hot stock sold (enough attempts)", sold_total == world.initial_stock * len(
            world.hot_skus), f"{sold_total} sold")


# --- served: read-only requests on SQLite, 1 worker process against 2 --------------------------------------

READ_SCALING_PATH = "/api/v1/products?limit=20"
IMMEDIATE_READS_HOOK = '''"""gunicorn config written by benchmarks/run.py: the what-if of every SQLite BEGIN
being IMMEDIATE, reads included (what shop.database did before read-only requests began deferred). Patched in
each worker once the app is loaded; nothing in the repository changes."""
import os


def post_worker_init(worker):
    import shop.database

    if not hasattr(shop.database, "_begins_deferred"):
        raise RuntimeError("shop.database._begins_deferred is gone: update the benchmark's what-if")
    shop.database._begins_deferred = lambda: False
    with open({marker!r}, "a") as fh:
        fh.write(f"{{os.getpid()}}\\n")
'''


def bench_read_scaling(backend: str, url: str, work: Path, args, report: Report) -> None:
    """The public product list (GET /api/v1/products?limit=20, page 1) served by gunicorn with 2 worker
    processes against 1, the same threads per worker (gthread) and the same client threads. SQLite only: a
    read-only request begins DEFERRED (WAL readers run beside each other), so a second process adds throughput
    where cores allow; if reads took the write lock (BEGIN IMMEDIATE), the processes would queue behind each
    other and the ratio would stay near 1 or below. --what-if-immediate-reads measures that too, with a gunicorn
    hook patching shop.database in the workers.

    All the servers run at once (idle but for the one measured) and are measured round-robin, --read-rounds
    times: drift on a shared machine hits them alike, and each round opens new keep-alive connections, so an
    uneven share of them between the two workers does not decide a whole figure. In all, --read-seconds of
    GET /products per server, and half that of the baseline GET."""
    if backend != "sqlite":
        return
    if args.server != "gunicorn":
        report.note("read scaling skipped: it needs --server gunicorn (worker processes)")
        return
    threads, clients, rounds = args.gunicorn_threads, args.threads, args.read_rounds
    section = f"reads served: gunicorn 1 vs 2 workers x {threads} threads, {clients} client threads"
    key = f"{backend}:served-reads"
    variants = {"": None}
    if args.what_if_immediate_reads:
        marker = work / "immediate-reads.pids"
        marker.unlink(missing_ok=True)
        hook = work / "gunicorn_immediate_reads.py"
        hook.write_text(IMMEDIATE_READS_HOOK.format(marker=str(marker)))
        variants["what-if all BEGIN IMMEDIATE: "] = hook
    dummy_stripe = f"http://{LOOPBACK}:9"  # never called: GET requests only
    servers = [(label, workers) for label in variants for workers in (1, 2)]
    samples = {server: {"list": [], "list_s": 0.0, "base": [], "base_s": 0.0, "failed": 0} for server in servers}
    with contextlib.ExitStack() as stack:
        bases, pids = {}, {}
        for label, workers in servers:
            base, _name, pid = stack.enter_context(served_app(work, url, dummy_stripe, args, workers=workers,
                                                              threads=threads, config=variants[label], wait=False))
            bases[(label, workers)], pids[f"gunicorn {label}-w {workers}"] = base, pid
        for server, base in bases.items():  # started at once; then warm up: connections, imports, caches
            wait_http(base + BASELINE_PATH, 60)
            http_load(clients, 0.5, [base + READ_SCALING_PATH, base + BASELINE_PATH])
        cpu_before, t0 = cpu_seconds(pids), time.perf_counter()
        for _ in range(rounds):
            for server, base in bases.items():
                got = samples[server]
                for kind, path, seconds in (("list", READ_SCALING_PATH, args.read_seconds / rounds),
                                            ("base", BASELINE_PATH, args.read_seconds / rounds / 2)):
                    lat, failed, elapsed = http_load(clients, seconds, [base + path])
                    got[kind] += lat
                    got[kind + "_s"] += elapsed
                    got["failed"] += failed
        cpu_after, measured_s = cpu_seconds(pids), time.perf_counter() - t0
    if args.what_if_immediate_reads:
        patched = len(marker.read_text().split()) if marker.exists() else 0
        report.check(backend, "what-if hook patched every worker", patched == 3, f"{patched} of 3 workers")
    one = samples[("", 1)]
    report.baseline(key, len(one["base"]) / one["base_s"], "req/s",
                    f"GET {BASELINE_PATH} served by gunicorn -w 1 --threads {threads}, {clients} client threads")
    for label in variants:
        rps = {}
        for workers in (1, 2):
            got = samples[(label, workers)]
            plural = "s" * (workers > 1)
            rps[workers] = len(got["list"]) / got["list_s"]
            report.add(backend, section, f"{label}baseline GET {BASELINE_PATH}, {workers} worker{plural}",
                       len(got["base"]) / got["base_s"], "req/s", key, f"p50 {ms(got['base']):.1f} ms")
            report.add(backend, section, f"{label}GET /products?limit=20, {workers} worker{plural}", rps[workers],
                       "req/s", key, f"p50 {ms(got['list']):.1f} / p95 {pct(got['list'], 95):.1f} ms, "
                                     f"{len(got['list']):,} in {got['list_s']:.1f} s")
            report.check(backend, f"{label}read scaling -w {workers}: every answer 200",
                         got["failed"] == 0 and got["list"] and got["base"], f"{got['failed']} non-200")
        begin = "every transaction BEGIN IMMEDIATE" if variants[label] else "GET requests BEGIN DEFERRED"
        report.add(backend, section, f"{label}GET /products: rps 2 workers / 1 worker", rps[2] / rps[1], "x", None,
                   f"{rps[2]:.0f} / {rps[1]:.0f} req/s; {begin}; {rounds} rounds round-robin")
    if cpu_after:
        used = {k: (cpu_after[k] - cpu_before.get(k, 0.0)) / measured_s for k in cpu_after}
        machine = used.pop("machine (all processes)", None)
        ours = sum(used.values())
        servers_busy = sum(v for k, v in used.items() if k.startswith("gunicorn"))
        info = f"gunicorn servers {servers_busy:.2f}, client (this process) {used.get('client (this process)', 0):.2f}"
        if machine is not None:
            info += f"; other processes on the machine {max(0.0, machine - ours):.2f}"
        report.add(backend, section, f"CPU busy while measuring (of {os.cpu_count()} cores)", ours, "cores", None,
                   info)


# --- orchestration ------------------------------------------------------------------------------------------


class Cleanup:
    def __init__(self):
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        self.stack.__enter__()
        self._old = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, signum, frame):
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        try:
            return self.stack.__exit__(*exc)
        finally:
            signal.signal(signal.SIGTERM, self._old)


def start_pg_cluster(cleanup: Cleanup) -> str | None:
    pgdir = Path(tempfile.mkdtemp(prefix="shop-bench-pg.", dir="/tmp"))
    os.chmod(pgdir, 0o755)  # the server may run as the postgres OS user
    cluster = pgdir / "cluster"
    script = REPO / "scripts" / "pg_test_cluster.sh"

    def stop():
        subprocess.run(["bash", str(script), "stop", str(cluster)], cwd=str(REPO), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(pgdir, ignore_errors=True)

    result = subprocess.run(["bash", str(script), "start", str(cluster)], cwd=str(REPO), capture_output=True,
                            text=True)
    if result.returncode == 3:
        shutil.rmtree(pgdir, ignore_errors=True)
        log("PostgreSQL 15 binaries not found: PostgreSQL skipped (" + result.stderr.strip().splitlines()[-1] + ")")
        return None
    cleanup.stack.callback(stop)
    if result.returncode != 0:
        raise RuntimeError(f"pg_test_cluster.sh start failed ({result.returncode}): {result.stderr[-1500:]}")
    with contextlib.suppress(OSError, ValueError, IndexError):
        PIDS["postgresql:postgres"] = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
    return result.stdout.strip().splitlines()[-1]


def check_loopback_url(url: str) -> str:
    from config import normalise_database_url

    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--pg-url must point at 127.0.0.1 (got host {host!r}): this benchmark sends no traffic "
                         "elsewhere")
    return normalise_database_url(url)


def run_backend(backend: str, url: str, catalog: Catalog, args, report: Report, cleanup: Cleanup,
                work: Path, stripe_base: str | None) -> None:
    from shop.extensions import db

    log(f"{backend}: building the catalog ({len(catalog.products):,} products)")
    app = make_app(url)
    try:
        build_database(app, catalog, backend, report, drop_trgm_during_load=not args.keep_trgm_during_load,
                       sqlite_analyze=args.sqlite_analyze)
        if not args.read_scaling_only:
            log(f"{backend}: list and search (in-process)")
            bench_inprocess(app, backend, len(catalog.products), args, report)
        if backend == "sqlite" and not args.skip_read_scaling:
            log(f"{backend}: read scaling, gunicorn 1 vs 2 worker processes")
            with app.app_context():
                db.engine.dispose()  # nothing of this process stays connected meanwhile
            bench_read_scaling(backend, url, work, args, report)
        if args.skip_checkout or stripe_base is None:
            return
        log(f"{backend}: checkout world ({args.hot_skus} SKUs x {args.stock} units, buyers)")
        world = setup_checkout_world(app, n_skus=args.hot_skus, stock=args.stock, attempts=checkout_attempts(args),
                                     probe_orders=args.reps + 3, threads=args.threads)
        n_users = len(world.buyers) + len(world.probe_buyers)
        report.add(backend, "checkout setup", f"register {n_users} buyers + token + address ({os.cpu_count()} "
                   "threads), wall time per buyer", world.register_seconds / n_users * 1000, "ms", f"{backend}:inproc",
                   f"{n_users / world.register_seconds:.0f} buyers/s; <= {world.orders_per_buyer} orders per "
                   "buyer (MAX_UNPAID_ORDERS / 2)")
        app.config["STRIPE_API_BASE"] = stripe_base
        bench_checkout_inprocess(app, backend, world, args, report)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with served_app(work, url, stripe_base, args) as (base, server, server_pid):
            log(f"{backend}: checkout storm against {server} at {base}")
            bench_served(backend, base, server, world, args, report, app, server_pid)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def print_table(report: Report, meta: dict) -> None:
    def fmt(value, unit):
        if value is None:
            return "-"
        if isinstance(value, float) and value != value:
            return "n/a"
        if unit in ("count", "units", "stmts"):
            return f"{int(value):,}"
        if unit == "cores":
            return f"{value:.2f} cores"
        if unit == "x":
            return f"{value:.2f}x"
        if unit == "s":
            return f"{value:,.2f} s"
        if unit == "ms":
            return f"{value:,.2f} ms"
        return f"{value:,.1f} {unit}"

    def fmt_ratio(ratio):
        if ratio is None:
            return "-"
        if ratio >= 100:
            return f"{ratio:,.0f}"
        return f"{ratio:.3g}"

    print()
    print(f"== benchmark: {meta['products']:,} products, {meta['cpus']} CPUs, {meta['started']} ==")
    print("ratio = figure / baseline of the same backend, measured in this run:")
    for key, base in report.baselines.items():
        print(f"  {key:<24} {fmt(base['value'], base['unit']):>14}   {base['what']}")
    width = max([len(r.metric) for r in report.rows] + [20])
    last = None
    for row in report.rows:
        head = f"{row.backend} | {row.section}"
        if head != last:
            print(f"\n[{head}]")
            last = head
        print(f"  {row.metric:<{width}} {fmt(row.value, row.unit):>16} {fmt_ratio(row.ratio):>9}  {row.info}")
    if report.plans:
        print("\nquery plans (full text in the JSON):")
        for key, plan in report.plans.items():
            print(f"  {key:<44} {plan['summary']}")
    failed = [c for c in report.checks if not c["ok"]]
    print(f"\nchecks: {len(report.checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        print(f"  FAILED [{check['backend']}] {check['check']}: {check['detail']}")
    for note in report.notes:
        print(f"note: {note}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=None,
                        help="catalog size (default 100,000; 10,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="10,000 products, fewer repetitions, 4 SKUs x 100 units")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list (default sqlite,postgresql)")
    parser.add_argument("--pg-url", help="use this PostgreSQL on 127.0.0.1 instead of a throwaway cluster "
                                         "(ALL ITS TABLES ARE DROPPED)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per list figure (median; default 15)")
    parser.add_argument("--search-reps", type=int, default=None, help="repetitions per search figure (default 9)")
    parser.add_argument("--skip-checkout", action="store_true")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16, help="checkout client threads (default 16)")
    parser.add_argument("--readers", type=int, default=2, help="browsing threads during checkout (default 2; 0 = none)")
    parser.add_argument("--hot-skus", type=int, default=4)
    parser.add_argument("--stock", type=int, default=None, help="units per hot SKU (default 500; 100 with --quick)")
    parser.add_argument("--extra", type=float, default=0.2, help="attempts beyond the stock, as a fraction (0.2)")
    parser.add_argument("--baseline-seconds", type=float, default=None, help="baseline load duration (default 5)")
    parser.add_argument("--checkout-timeout", type=float, default=180, help="stop the checkout storm after this")
    parser.add_argument("--read-scaling-only", action="store_true",
                        help="only SQLite's read scaling (GET /products, gunicorn 2 workers vs 1); implies "
                             "--backends sqlite --skip-checkout and 10,000 products unless --products")
    parser.add_argument("--skip-read-scaling", action="store_true")
    parser.add_argument("--read-seconds", type=float, default=None,
                        help="read scaling: seconds of GET /products per server in all (default 6; 3 with --quick)")
    parser.add_argument("--read-rounds", type=int, default=4, help="read scaling: round-robin rounds (default 4)")
    parser.add_argument("--what-if-immediate-reads", action="store_true",
                        help="read scaling also with every SQLite BEGIN IMMEDIATE (a gunicorn hook patches "
                             "shop.database in the workers; the repository is not changed)")
    parser.add_argument("--keep-trgm-during-load", action="store_true",
                        help="PostgreSQL: keep the trigram indexes while inserting (default: create them after)")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE on SQLite after the load (the app never does; default: no statistics)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--json", default=str(REPO / "bench-results" / "latest.json"))
    args = parser.parse_args(argv)
    if args.read_scaling_only:
        args.backends, args.skip_checkout, args.skip_read_scaling = "sqlite", True, False
        args.products = args.products or 10_000
        args.quick = True
    args.products = args.products or (10_000 if args.quick else 100_000)
    args.read_seconds = args.read_seconds or (3.0 if args.quick else 6.0)
    args.reps = args.reps or (7 if args.quick else 15)
    args.search_reps = args.search_reps or (5 if args.quick else 9)
    args.stock = args.stock or (100 if args.quick else 500)
    args.baseline_seconds = args.baseline_seconds or (3.0 if args.quick else 5.0)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.search_terms = ["脆李", "巫山脆李", "wushancuili", "wscl", "奉节"]
    if args.products < 200:
        parser.error("--products must be at least 200")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    report = Report()
    started = time.time()
    meta = {"products": args.products, "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "args": {k: v for k, v in vars(args).items()}}
    with Cleanup() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="shop-bench."))
        cleanup.stack.callback(shutil.rmtree, work, True)

        log(f"generating {args.products:,} products (search text via shop.catalog.search)")
        catalog = generate_catalog(args.products, args.seed)
        gc.collect()
        gc.freeze()  # the catalog stays in memory for both backends: keep it out of every GC pass
        report.add("-", "catalog", f"generate {args.products:,} products in Python", catalog.seconds, "s", None,
                   f"search text {catalog.search_text_seconds:.1f} s (memoised index_terms), "
                   f"{catalog.distinct_names:,} distinct names, {len(catalog.suppliers)} suppliers")

        stripe_base = None
        if not args.skip_checkout:
            from shop.payments.localstripe_server import start_subprocess

            stripe_log = open(work / "localstripe.log", "ab")
            cleanup.stack.callback(stripe_log.close)
            proc, stripe_base = start_subprocess(stdout=subprocess.DEVNULL, stderr=stripe_log)
            cleanup.stack.callback(stop_process, proc, "localstripe")
            PIDS["localstripe"] = proc.pid

        for backend in args.backends:
            t0 = time.perf_counter()
            if backend == "sqlite":
                url = f"sqlite:///{work / 'bench.db'}"
            elif backend == "postgresql":
                url = check_loopback_url(args.pg_url) if args.pg_url else start_pg_cluster(cleanup)
                if url is None:
                    report.note("PostgreSQL skipped: PostgreSQL 15 binaries not found (use --pg-url)")
                    continue
            else:
                raise SystemExit(f"unknown backend {backend!r}")
            run_backend(backend, url, catalog, args, report, cleanup, work, stripe_base)
            log(f"{backend}: done in {time.perf_counter() - t0:.0f} s")

        meta["seconds"] = round(time.time() - started, 1)
        report.compute_ratios()
        print_table(report, meta)
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"meta": meta, "baselines": report.baselines,
                                   "rows": [r.__dict__ for r in report.rows], "checks": report.checks,
                                   "plans": report.plans, "notes": report.notes}, ensure_ascii=False, indent=1,
                                  default=str))
        print(f"\nwritten {out} ({meta['seconds']:.0f} s in all)")
    return 1 if any(not c["ok"] for c in report.checks) else 0


if __name__ == "__main__":
    sys.exit(main())
