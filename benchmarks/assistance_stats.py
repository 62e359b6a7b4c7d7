"""Benchmark of the counterpart-support statistics: a year of a busy center (default a million order lines and
their attribution entries, benchmarks.assistance_data) and every `group_by` of GET /api/v1/assistance/stats over
that year, public (suppressed) and raw, in the Flask test client.

    python -m benchmarks.assistance_stats                                  # 1,000,000 lines, SQLite (a temp file)
    python -m benchmarks.assistance_stats --lines 100000 --backends sqlite
    ASSISTANCE_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/scratch \\
        python -m benchmarks.assistance_stats --backends sqlite,postgresql  # ALL TABLES OF THAT DB ARE DROPPED

Each figure is the median of --reps runs (after a warm-up), timed round-robin with the baseline of the same
run on the same database: GET /api/v1/regions/500237 (one primary-key read through the whole stack, as in
benchmarks.run) and a bare `SELECT 1`. Checked: each grouping's raw total equals Σ(paid − refunded) of the
order lines, read directly. PostgreSQL is skipped when no URL is given. Prints a table; --json writes the rows.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.assistance_data import generate
from benchmarks.run import interleaved, log, make_app

GROUP_BYS = ("district", "supporter", "pair", "product", "category", "buyer_kind", "channel", "market", "month")
BASELINE = "/api/v1/regions/500237"


def reuse(app) -> dict:
    """The data of a previous run (--reuse): only the rollup is refreshed."""
    from sqlalchemy import delete, func, select

    from shop.assistance.models import AttributionEntry, AttributionMonth, AttributionRollup
    from shop.assistance.rollup import refresh
    from shop.extensions import db
    from shop.orders.models import Order, OrderLine

    with app.app_context():
        db.session.execute(delete(AttributionRollup))
        db.session.execute(delete(AttributionMonth))
        db.session.commit()
        counts = [db.session.scalar(select(func.count()).select_from(t)) for t in (OrderLine, Order, AttributionEntry)]
        db.session.commit()
        t0 = time.perf_counter()
        rolled = refresh()
        rollup_seconds = time.perf_counter() - t0
    return {"lines": counts[0], "orders": counts[1], "entries": counts[2], "seconds": 0.0,
            "rollup_seconds": rollup_seconds, "rolled_up_months": len(rolled)}


def build(app, *, lines: int, year: int, seed: int) -> dict:
    from sqlalchemy import text

    from shop.catalog.seed import load_categories
    from shop.extensions import db
    from shop.regions.services import load_reference_data

    with app.app_context():
        db.drop_all()
        db.create_all()
        load_reference_data()
        load_categories()
        db.session.commit()
    t0 = time.perf_counter()
    generated = generate(app, lines=lines, year=year, seed=seed)
    seconds = time.perf_counter() - t0
    from shop.assistance.rollup import refresh

    t0 = time.perf_counter()
    with app.app_context():  # the job as it runs on the day it is benchmarked: the months finished so far
        rolled = refresh()
    rollup_seconds = time.perf_counter() - t0
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # what autovacuum would do after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    return {"lines": generated.lines, "orders": generated.orders, "entries": generated.entries, "seconds": seconds,
            "rollup_seconds": rollup_seconds, "rolled_up_months": len(rolled)}


def direct_total(app) -> int:
    from sqlalchemy import func, select

    from shop.extensions import db
    from shop.orders.models import OrderLine

    with app.app_context():
        return int(db.session.scalar(select(func.sum(OrderLine.paid_fen - OrderLine.refunded_fen))))


def measure(app, backend: str, *, year: int, reps: int, rows: list[dict], checks: list[dict]) -> None:
    from sqlalchemy import text

    from shop.accounts.services import create_admin, create_token
    from shop.extensions import db

    with app.app_context():
        admin = create_admin(email=f"bench-admin-{time.time_ns()}@example.test", password="correct-horse-battery-9")
        _, token = create_token(user=admin, name="bench")
        db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    period = f"from={year}-01-01&to={year}-12-31"

    def get(path, headers=None):
        def call():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            return response
        return call

    def select_one():
        with app.app_context():
            db.session.execute(text("SELECT 1"))
            db.session.commit()

    expected = direct_total(app)
    fns = {"baseline: GET /regions/500237": get(BASELINE), "baseline: SELECT 1": select_one}
    for group_by in GROUP_BYS:
        fns[f"{group_by}"] = get(f"/api/v1/assistance/stats?group_by={group_by}&{period}")
        fns[f"{group_by} raw"] = get(f"/api/v1/assistance/stats?group_by={group_by}&{period}&raw=true", auth)
    fns["district, one month"] = get(f"/api/v1/assistance/stats?group_by=district&from={year}-06-01"
                                     f"&to={year}-06-30")
    fns["month, district=500101 filter"] = get(f"/api/v1/assistance/stats?group_by=month&district=500101&{period}")
    samples = interleaved(fns, reps, warmup=1)
    base = statistics.median(samples["baseline: GET /regions/500237"])
    for name, values in samples.items():
        median = statistics.median(values)
        rows.append({"backend": backend, "what": name, "median_ms": round(median * 1000, 2),
                     "max_ms": round(max(values) * 1000, 2), "ratio": round(median / base, 1)})
    for group_by in ("district", "market", "month"):
        body = client.get(f"/api/v1/assistance/stats?group_by={group_by}&{period}&raw=true", headers=auth).get_json()
        ok = body["total"]["amount_fen"] == expected
        checks.append({"backend": backend, "check": f"{group_by} raw total == Σ lines paid − refunded", "ok": ok,
                       "detail": f"{body['total']['amount_fen']} vs {expected}"})
        if not ok:
            log(f"CHECK FAILED [{backend}] {group_by}: {body['total']['amount_fen']} != {expected}")


def explain(app, *, year: int) -> str:
    """The plan of the district statistic's query on PostgreSQL (EXPLAIN ANALYZE)."""
    import datetime as dt

    from sqlalchemy import text

    from shop.assistance.statistics import Context, Figures, Selection
    from shop.extensions import db

    with app.app_context():
        captured = []
        from sqlalchemy import event

        def grab(conn, cursor, statement, parameters, context, executemany):
            if "GROUP BY" in statement and not captured:
                captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            Figures(Selection("district", dt.date(year, 1, 1), dt.date(year, 12, 31)), Context())
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        statement, parameters = captured[0]
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            raw.close()


def print_table(rows: list[dict], builds: dict, checks: list[dict]) -> None:
    print()
    for backend, info in builds.items():
        print(f"{backend}: {info['lines']:,} lines, {info['orders']:,} orders, {info['entries']:,} entries "
              f"inserted in {info['seconds']:.1f} s; {info['rolled_up_months']} finished months rolled up in "
              f"{info['rollup_seconds']:.1f} s")
    print(f"\n{'backend':<11} {'statistic (a whole year unless said)':<38} {'median ms':>10} {'max ms':>9} "
          f"{'x baseline':>10}")
    for row in rows:
        print(f"{row['backend']:<11} {row['what']:<38} {row['median_ms']:>10.2f} {row['max_ms']:>9.2f} "
              f"{row['ratio']:>10.1f}")
    print()
    for check in checks:
        print(f"{'ok ' if check['ok'] else 'FAIL'} [{check['backend']}] {check['check']} ({check['detail']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("ASSISTANCE_BENCH_PG_URL"),
                        help="PostgreSQL to use (ALL ITS TABLES ARE DROPPED); default $ASSISTANCE_BENCH_PG_URL")
    parser.add_argument("--json", default=None, help="write rows, checks and the PostgreSQL plan here")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the data of the previous run (the "
                                                            "same --lines), only refresh the rollup")
    args = parser.parse_args(argv)
    rows, checks, builds, plans = [], [], {}, {}
    with tempfile.TemporaryDirectory(prefix="assistance-bench-") as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            elif backend == "postgresql":
                if not args.pg_url:
                    log("PostgreSQL skipped: give --pg-url or ASSISTANCE_BENCH_PG_URL")
                    continue
                from config import normalise_database_url

                url = normalise_database_url(args.pg_url)
            else:
                parser.error(f"unknown backend {backend}")
            app = make_app(url)
            if args.reuse and backend == "postgresql":
                builds[backend] = reuse(app)
            else:
                log(f"[{backend}] generating {args.lines:,} lines")
                builds[backend] = build(app, lines=args.lines, year=args.year, seed=args.seed)
            log(f"[{backend}] built in {builds[backend]['seconds']:.1f} s; timing")
            measure(app, backend, year=args.year, reps=args.reps, rows=rows, checks=checks)
            if backend == "postgresql":
                plans[backend] = explain(app, year=args.year)
                print(plans[backend])
            with app.app_context():
                from shop.extensions import db

                db.session.remove()
                db.engine.dispose()
    print_table(rows, builds, checks)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"builds": builds, "rows": rows, "checks": checks, "plans": plans},
                                              ensure_ascii=False, indent=2))
    return 0 if all(check["ok"] for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
