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
import gc
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.catalog import (TRANSACTION_CONTROL, Catalog, StatementLog, build_database, cursor_values_before,
                                generate_catalog, make_app, public_products)
from benchmarks.processes import (LOOPBACK, PIDS, Cleanup, check_loopback_url, cpu_seconds, free_port, log,
                                  start_pg_cluster, stop_process, wait_http)
from benchmarks.world import World, checkout_body, setup_checkout_world

REPO = Path(__file__).resolve().parents[1]
BASELINE_PATH = "/api/v1/regions/500237"  # 巫山县: one primary-key read, serialised




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

# --- database and app ---------------------------------------------------------------------------------------










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
                 if re.match(r"\s*(SEARCH|SCAN) product(?:_search\w*)?\b", line) or "TEMP B-TREE" in line
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

    def cursor_values(keys, page: int) -> list:
        return cursor_values_before(app, keys, page, limit)

    def full_rows(stmt):
        return stmt.options(contains_eager(Product.supplier), contains_eager(Product.origin_district))

    def offset_page(keys, position):
        with app.app_context():
            stmt = full_rows(public_products(select(Product))).order_by(*order_by(keys)).offset(position).limit(limit)
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
            count_stmt = public_products(select(func.count()).select_from(Product)).where(
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
        fts = "product_search VIRTUAL TABLE" in summary and not re.search(r"\bSCAN product\b", summary)
        if backend == "sqlite":
            index_note = f"FTS5 index {'USED' if fts else 'not used'}"
        else:
            index_note = f"trigram index {'USED' if trgm else 'not used'}" if len(needle) >= 3 else \
                f"gram index {'USED' if grams else 'not used'}"
        report.add(backend, "search (100k)" if n_products >= 100_000 else f"search ({n_products:,})",
                   f"q={q} ({len(needle)} chars)", ms(samples), "ms", inproc,
                   f"{total:,} matches ({in_name:,} in name), page {len(items)}; {index_note}")
        if backend == "sqlite" and n_products >= 10_000:
            report.check(backend, f"FTS5 index used, product not scanned, for q={q}", fts, summary)
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








def checkout_attempts(args) -> int:
    total_stock = args.hot_skus * args.stock
    return total_stock + int(total_stock * args.extra)




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








def report_build(report: Report, backend: str, t, *, kept_trgm: bool) -> None:
    report.add(backend, "build", "schema + reference data", t.schema_s, "s", "inproc")
    report.add(backend, "build", f"insert {t.products:,} products + {t.skus:,} SKUs", t.insert_s, "s",
               "inproc", f"{t.products / t.insert_s:,.0f} products/s, executemany batches of 5,000")
    if t.postgres:
        report.add(backend, "build", "trigram GIN indexes (TRIGRAM_INDEX_DDL)", t.index_s, "s", "inproc",
                   "kept during the load" if kept_trgm else "created after the load")
    report.add(backend, "build", t.settle, t.analyze_s, "s", "inproc")


def run_backend(backend: str, url: str, catalog: Catalog, args, report: Report, cleanup: Cleanup,
                work: Path, stripe_base: str | None) -> None:
    from shop.extensions import db

    log(f"{backend}: building the catalog ({len(catalog.products):,} products)")
    app = make_app(url)
    try:
        times = build_database(app, catalog, drop_trgm_during_load=not args.keep_trgm_during_load,
                               sqlite_analyze=args.sqlite_analyze)
        report_build(report, backend, times, kept_trgm=args.keep_trgm_during_load)
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
    parser.add_argument("--search-terms", default="脆李,巫山脆李,wushancuili,wscl,奉节",
                        help="comma list of search queries (default 脆李,巫山脆李,wushancuili,wscl,奉节)")
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
    args.search_terms = [t.strip() for t in args.search_terms.split(",") if t.strip()]
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
