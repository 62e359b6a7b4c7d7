"""The shop served by gunicorn and measured with wrk, as issue 12 asks, against a Flask hello of the same run.

    python -m benchmarks.http                      # PostgreSQL and SQLite, 10,000 then 100,000 products
    python -m benchmarks.http --quick              # 10,000 products, short rounds (~3 min)
    python -m benchmarks.http --backends sqlite    # list and search on the embedded default only
    python -m benchmarks.http --help

One run starts a throwaway PostgreSQL cluster and localstripe, builds each catalog (benchmarks.catalog: Core
executemany, trigram indexes recreated, VACUUM ANALYZE), serves the shop and benchmarks/hello.py with the same
gunicorn settings, and runs wrk (-t2 -c16 --latency) round-robin over hello and every kind of request. Figures
are given as ratios to hello's requests/second and p99 of the same run, next to issue 12's targets (informational:
the exit status is 1 only when a correctness check fails: oversell, an answer other than the expected status,
socket errors). Writes bench-results/http-latest.json. Everything started is stopped on exit, Ctrl-C included.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import wrk
from benchmarks.catalog import REPO, build_database, generate_catalog, make_app
from benchmarks.http_requests import (HELLO, POSTGRES_KINDS, SQLITE_KINDS, WEBHOOK_SECRET, RequestFiles, clear_carts,
                                      count_statements, events_recorded, list_paths, stock_checks)
from benchmarks.processes import (LOOPBACK, PIDS, Cleanup, check_loopback_url, cpu_seconds, free_port, log,
                                  start_pg_cluster, stop_process, wait_http)
from benchmarks.world import setup_checkout_world

SECRET_KEY = "bench-http-not-secret"
STRIPE_SECRET_KEY = "sk_test_bench"
BUYERS = 64  # shoppers with API tokens: cart lines and unpaid orders spread over them
HOT_SKUS = 8
STOCK = 100_000  # units per hot SKU: no checkout runs out during a run
DISTURBED_CORES = 0.25  # other processes' mean share of the machine beyond which the table carries a warning


def gunicorn_command(app_spec: str, port: int, args, log_path: Path) -> list[str]:
    """The same settings for the shop and for hello. gthread (-w 2 --threads 4): it keeps wrk's 16 connections
    alive (the sync worker closes each connection after one answer, so connects would be measured too) and a
    worker's threads overlap the waits on PostgreSQL and localstripe; 2 processes for the 2 cores."""
    return [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(args.workers), "--threads",
            str(args.threads), "-b", f"{LOOPBACK}:{port}", "--no-control-socket", "--graceful-timeout", "5",
            "--error-logfile", str(log_path), "--log-level", "warning", app_spec]


def serve(stack, app_spec: str, env: dict, args, work: Path, ready_path: str) -> str:
    port = free_port()
    log_path = work / f"gunicorn-{app_spec.split(':')[0]}-{port}.log"
    with open(log_path, "ab") as fh:
        proc = subprocess.Popen(gunicorn_command(app_spec, port, args, log_path), cwd=str(REPO), env=env,
                                stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
    stack.callback(report_server_errors, log_path)
    stack.callback(stop_process, proc, f"gunicorn {app_spec}")
    base = f"http://{LOOPBACK}:{port}"
    wait_http(base + ready_path, 60, proc=proc)
    return base, proc.pid


def report_server_errors(log_path: Path) -> None:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if "Traceback" in text:
        log(f"{log_path.name} logged errors (tail):\n{text[-2000:]}")


def shop_env(database_url: str, stripe_base: str | None) -> dict:
    """Production settings (SHOP_ENV=production, JSON logs) at LOG_LEVEL=WARNING: at INFO every request writes
    an access line, and formatting it would be a good part of what is measured. No REDIS_URL: no endpoint
    measured here is rate limited. MAX_UNPAID_ORDERS raised: the bench shoppers place many unpaid orders."""
    env = {**os.environ, "SHOP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
           "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "STRIPE_API_BASE": stripe_base or f"http://{LOOPBACK}:9", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json",
           "MAX_UNPAID_ORDERS": str(10**9)}
    for name in ("REDIS_URL", "TRUSTED_PROXY_COUNT", "STOREFRONT_ORIGIN"):
        env.pop(name, None)
    return env


def mean(values) -> float:
    return statistics.fmean(values) if values else float("nan")


def mean_cpu(results) -> dict[str, float]:
    keys = {k for r in results for k in r.cpu}
    return {k: round(mean([r.cpu.get(k, 0.0) for r in results]), 2) for k in sorted(keys)}


def measure_catalog(backend: str, url: str, catalog, stripe_base: str | None, args, work: Path) -> dict:
    """Build the database, count statements in-process, serve shop and hello, run the wrk rounds."""
    from shop.extensions import db

    n = len(catalog.products)
    kinds = POSTGRES_KINDS if backend == "postgresql" else SQLITE_KINDS
    if args.only:
        kinds = [k for k in kinds if k.key in args.only]
    out = {"backend": backend, "products": n, "rows": [], "hello": {}, "checks": [], "build": {}}
    log(f"{backend}: building {n:,} products")
    app = make_app(url)
    try:
        times = build_database(app, catalog, drop_trgm_during_load=True)
        out["build"] = {k: round(v, 2) if isinstance(v, float) else v for k, v in vars(times).items()}
        world = None
        if any(k.key in ("cart", "checkout") for k in kinds):
            app.config["STRIPE_API_BASE"] = stripe_base
            world = setup_checkout_world(app, n_skus=HOT_SKUS, stock=STOCK, attempts=0, probe_orders=3,
                                         threads=BUYERS)
        paths = list_paths(app, n)
        files = RequestFiles(work, paths, n, world, args.seed)
        statements, out["checks"] = count_statements(app, kinds, paths, world, files)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # nothing of this process stays connected while the servers run

        with contextlib.ExitStack() as stack:
            shop, shop_pid = serve(stack, "wsgi:app", shop_env(url, stripe_base), args, work, "/healthz")
            hello, hello_pid = serve(stack, "benchmarks.hello:app", {**os.environ}, args, work, "/")
            log(f"{backend} {n:,}: shop at {shop}, hello at {hello}; wrk -t{args.wrk_threads} -c{args.connections}")
            roots = {"shop": shop_pid, "hello": hello_pid, **{k: v for k, v in PIDS.items() if v}}
            samples = run_rounds(kinds, files, shop, hello, app, args, roots)
        out["hello"], out["rows"] = summarise(kinds, samples, statements)
        out["checks"] += answer_checks([HELLO, *kinds], samples)
        if world and any(k.key == "checkout" for k in kinds):
            created = sum(r.statuses.get(201, 0) for r in samples["checkout"] + samples["_warmup_checkout"])
            out["checks"] += stock_checks(app, world, created)
        if any(k.key == "webhook" for k in kinds):
            answered = sum(r.statuses.get(200, 0) for r in samples["webhook"] + samples["_warmup_webhook"])
            recorded = events_recorded(app, files.event_prefix()) - 1  # the in-process one
            out["notes"] = [f"webhook: {recorded:,} new events recorded for {answered:,} answers 200 (the rest: "
                            "replays of events signed for a round that outran the file, or requests wrk stopped "
                            "waiting for)"]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return out


def summarise(kinds, samples: dict, statements: dict[str, int]) -> tuple[dict, list[dict]]:
    """hello's figures (the mean of its runs), and a row per kind: the mean of its rounds, its ratios to hello,
    its SQL statements and issue 12's target."""
    hellos = samples["hello"]
    hello = {"rps": mean([r.rps for r in hellos]), "p50_ms": mean([r.p50_ms for r in hellos]),
             "p99_ms": mean([r.p99_ms for r in hellos]), "rounds_rps": [round(r.rps, 1) for r in hellos],
             "cpu": mean_cpu(hellos)}
    rows = []
    for kind in kinds:
        got = samples[kind.key]
        rps, p50, p99 = mean([r.rps for r in got]), mean([r.p50_ms for r in got]), mean([r.p99_ms for r in got])
        ratio = rps / hello["rps"]
        rows.append({"kind": kind.key, "label": kind.label, "rps": rps, "p50_ms": p50, "p99_ms": p99,
                     "ratio": ratio, "p99_ratio": p99 / hello["p99_ms"], "sql": statements.get(kind.key),
                     "target": kind.target(), "met": kind.met(ratio, p99),
                     "rounds_rps": [round(r.rps, 1) for r in got], "cpu": mean_cpu(got)})
    return hello, rows


def with_cpu(roots: dict[str, int], run) -> wrk.WrkResult:
    """run() (a wrk run), with the cores busy meanwhile: the servers, wrk, and every other process on the machine
    (the other work of a shared machine, which disturbs the figures when large)."""
    before, children_before, t0 = cpu_seconds(roots), os.times(), time.perf_counter()
    result = run()
    after, children_after, elapsed = cpu_seconds(roots), os.times(), time.perf_counter() - t0
    used = {k: (after[k] - before.get(k, 0.0)) / elapsed for k in after}
    used["wrk"] = (children_after.children_user + children_after.children_system
                   - children_before.children_user - children_before.children_system) / elapsed
    machine = used.pop("machine (all processes)", None)
    if machine is not None:
        used["other processes"] = max(0.0, machine - sum(used.values()))
    result.cpu = {k: round(v, 2) for k, v in used.items()}
    return result


def run_rounds(kinds, files: RequestFiles, shop: str, hello: str, app, args, roots: dict[str, int]) -> dict:
    """A short warm-up of each kind, then --rounds rounds: hello, then every kind; hello once more at the end.
    Each figure is the mean of its rounds; hello's mean over all its runs is the baseline."""
    samples: dict[str, list] = {"hello": [], **{k.key: [] for k in kinds}}
    hello_file = files.file("hello")

    def one(kind, seconds: float, warmup: bool = False):
        new_events = 0
        if kind.key == "webhook":  # enough new event ids for a webhook as fast as hello; re-signed now
            fastest = max([r.rps for r in samples["hello"]] or [3000.0])
            new_events = int(fastest * seconds * 1.2) + 500
        if kind.key == "cart":
            clear_carts(app)  # each shopper's cart stays at most HOT_SKUS lines
        prefix = f"{files.tag}-{kind.key}-{time.time_ns()}" if kind.key == "checkout" else None
        request_file = files.file(kind.key, new_events=new_events)
        result = with_cpu(roots, lambda: wrk.run(shop, request_file, seconds=seconds, connections=args.connections,
                                                 threads=args.wrk_threads, idempotency_prefix=prefix))
        samples.setdefault(f"_warmup_{kind.key}" if warmup else kind.key, []).append(result)
        if not warmup:
            log(f"  {kind.key:<9} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:8.2f} ms"
                f"  other processes {result.cpu.get('other processes', 0):.2f} cores"
                + (f"  statuses {result.statuses}" if set(result.statuses) != {kind.status} else ""))
        return result

    def hello_run():
        result = with_cpu(roots, lambda: wrk.run(hello, hello_file, seconds=args.seconds,
                                                 connections=args.connections, threads=args.wrk_threads))
        samples["hello"].append(result)
        log(f"  hello     {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:8.2f} ms"
            f"  other processes {result.cpu.get('other processes', 0):.2f} cores")

    samples["_warmup_hello"] = [wrk.run(hello, hello_file, seconds=args.warmup, connections=args.connections,
                                        threads=args.wrk_threads)]
    for kind in kinds:
        samples.setdefault(f"_warmup_{kind.key}", [])
        one(kind, args.warmup, warmup=True)
    for round_no in range(args.rounds):
        log(f"round {round_no + 1} of {args.rounds}")
        hello_run()
        for kind in kinds:
            one(kind, args.seconds)
    hello_run()
    return samples


def answer_checks(kinds, samples) -> list[dict]:
    """Every answer had the kind's status, and no socket errors (timeouts included), warm-ups counted."""
    checks = []
    for kind in kinds:
        runs = samples[kind.key] + samples.get(f"_warmup_{kind.key}", [])
        status = 200 if kind is HELLO else kind.status
        others: dict[int, int] = {}
        for r in runs:
            for code, count in r.statuses.items():
                if code != status:
                    others[code] = others.get(code, 0) + count
        errors = sum(r.errors for r in runs)
        checks.append({"check": f"{kind.key}: every answer {status}, no socket errors", "ok": not others and not errors,
                       "detail": f"{sum(r.requests for r in runs):,} requests; other statuses {others or 'none'}; "
                                 f"socket errors {errors}"})
    return checks


def pad(text: str, width: int) -> str:
    """text padded to `width` terminal columns (CJK characters take two)."""
    import unicodedata

    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def print_results(results: list[dict], meta: dict) -> None:
    print(f"\n== benchmarks.http: gunicorn -k gthread -w {meta['args']['workers']} --threads "
          f"{meta['args']['threads']}, wrk -t{meta['args']['wrk_threads']} -c{meta['args']['connections']} "
          f"-d{meta['args']['seconds']:g}s x {meta['args']['rounds']} rounds, {meta['cpus']} CPUs, "
          f"{meta['started']} ==")
    print("ratio = req/s / hello's req/s of the same run and database; p99x = p99 / hello's p99; SQL = statements "
          "of one such request in-process; other = cores that other processes on the machine used meanwhile "
          f"(of {meta['cpus']}: when large, the run was disturbed)")
    for res in results:
        h = res["hello"]
        print(f"\n[{res['backend']}, {res['products']:,} products]  hello {h['rps']:,.0f} req/s "
              f"(rounds {', '.join(f'{x:,.0f}' for x in h['rounds_rps'])}), p50 {h['p50_ms']:.2f} ms, "
              f"p99 {h['p99_ms']:.2f} ms, other processes {h['cpu'].get('other processes', 0):.2f} cores")
        print(f"  {'request':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'p99x':>6} {'SQL':>4} "
              f"{'other':>5}  target")
        for row in res["rows"]:
            met = {True: "met", False: "NOT met", None: ""}[row["met"]]
            sql = "-" if row["sql"] is None else str(row["sql"])
            print(f"  {pad(row['label'], 42)} {row['rps']:8.1f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
                  f"{row['ratio']:7.1%} {row['p99_ratio']:6.1f} {sql:>4} {row['cpu'].get('other processes', 0):5.2f}"
                  f"  {row['target']} {met}")
        for note in res.get("notes", []):
            print(f"  note: {note}")
    others = [row["cpu"].get("other processes", 0.0) for res in results for row in [res["hello"], *res["rows"]]]
    if others and mean(others) > DISTURBED_CORES:
        print(f"\nWARNING: other processes took {mean(others):.2f} of {meta['cpus']} cores on average while measuring "
              f"(load average {meta['load_before'][0]:.1f} before, {meta['load_after'][0]:.1f} after): the figures, "
              "ratios included, are disturbed; re-run on a quiet machine before comparing them with the targets")
    checks = [c for res in results for c in res["checks"]]
    failed = [c for c in checks if not c["ok"]]
    print(f"\nchecks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        print(f"  FAILED {check['check']}: {check['detail']}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", default=None, help="catalog sizes, comma list (default 10000,100000)")
    parser.add_argument("--quick", action="store_true", help="10,000 products, 1 round of 3 s per figure")
    parser.add_argument("--backends", default="postgresql,sqlite", help="comma list (default postgresql,sqlite)")
    parser.add_argument("--pg-url", help="this PostgreSQL on 127.0.0.1 instead of a throwaway cluster "
                                         "(ALL ITS TABLES ARE DROPPED)")
    parser.add_argument("--only", default=None, help="comma list of kinds (list,deep,search,search2,detail,cart,"
                                                     "checkout,webhook,replay; default all)")
    parser.add_argument("--seconds", type=float, default=None, help="wrk duration per figure and round (default 10)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 2; 1 with --quick)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per kind (default 2)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--json", default=str(REPO / "bench-results" / "http-latest.json"))
    args = parser.parse_args(argv)
    sizes = args.products or ("10000" if args.quick else "10000,100000")
    args.sizes = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.warmup = args.warmup or (1.0 if args.quick else 2.0)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.only = {k.strip() for k in args.only.split(",")} if args.only else None
    unknown = (args.only or set()) - {k.key for k in POSTGRES_KINDS}
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    for backend in args.backends:
        if backend not in ("postgresql", "sqlite"):
            parser.error(f"unknown backend {backend!r}")
    if min(args.sizes) < 200:
        parser.error("--products must be at least 200")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk.wrk_binary()
    os.chdir(REPO)
    started = time.time()
    meta = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_before": os.getloadavg(),
            "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()}}
    results = []
    with Cleanup() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="shop-bench-http."))
        cleanup.stack.callback(shutil.rmtree, work, True)
        stripe_base = None
        if "postgresql" in args.backends:
            from shop.payments.localstripe_server import start_subprocess

            stripe_log = open(work / "localstripe.log", "ab")
            cleanup.stack.callback(stripe_log.close)
            proc, stripe_base = start_subprocess(stdout=subprocess.DEVNULL, stderr=stripe_log)
            cleanup.stack.callback(stop_process, proc, "localstripe")
            PIDS["localstripe"] = proc.pid
        pg_url = None
        for size in args.sizes:
            log(f"generating {size:,} products")
            catalog = generate_catalog(size, args.seed)
            for backend in args.backends:
                if backend == "postgresql":
                    if pg_url is None:
                        pg_url = check_loopback_url(args.pg_url) if args.pg_url else start_pg_cluster(cleanup)
                    if pg_url is None:
                        log("PostgreSQL skipped: PostgreSQL 15 binaries not found (use --pg-url)")
                        continue
                    url = pg_url
                else:
                    url = f"sqlite:///{work / f'bench-{size}.db'}"
                results.append(measure_catalog(backend, url, catalog, stripe_base, args, work))
            del catalog
            gc.collect()
        meta["seconds"] = round(time.time() - started, 1)
        meta["load_after"] = os.getloadavg()
        print_results(results, meta)
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"meta": meta, "results": results}, ensure_ascii=False, indent=1, default=str))
        print(f"\nwritten {out} ({meta['seconds']:.0f} s in all)")
    return 1 if any(not c["ok"] for res in results for c in res["checks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
