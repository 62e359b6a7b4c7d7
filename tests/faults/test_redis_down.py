"""Redis down, for real: the test's own redis-server is stopped under a gunicorn, a scheduler and an RQ worker,
then started again (empty, as a server without persistence comes back). What fails open and what fails closed is
the README's "Production" section: reads and writes go on, rate limits count per process, the queue waits."""
from __future__ import annotations

import datetime as dt
import time

from redis import Redis
from rq import Worker

from shop.extensions import db
from shop.jobs import queue as jobs_queue
from shop.jobs.registry import JOBS
from tests.served import app_env_of, flask_command, gunicorn
from tests.jobs.helpers import expired_orders, expiry_effects
from tests.orders.factories import STOCK_A, make_world, stock_of, wait_for
from tests.orders.fixtures import as_user, buyer, no_smtp, stripe_base, world  # noqa: F401

LIMIT = 3  # logins a minute, per client address and per account


def limiter_keys(url: str) -> list[bytes]:
    connection = Redis.from_url(url)
    try:
        return connection.keys("LIMITS:*")
    finally:
        connection.close()


def wait_for_text(path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}:\n{path.read_text()}"
        time.sleep(0.1)


def test_reads_go_on_and_logins_are_limited_per_process_while_redis_is_down(app, redis_server):
    shop = make_world()
    email = shop.buyer.email
    db.session.commit()  # no read left open: on SQLite it would hold the served process's writes back
    env = app_env_of(app, REDIS_URL=redis_server.url, LOGIN_RATE_LIMIT=f"{LIMIT} per minute")
    with gunicorn(redis_server.directory, env, workers=1) as server:  # one process: its own memory is the fallback
        def login() -> int:
            return server.post("/api/v1/auth/login", json={"email": email, "password": "not-the-password-1"}
                               ).status_code

        assert [login() for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]
        assert limiter_keys(redis_server.url), "the counters live in Redis, shared by every process"

        redis_server.stop()
        listing = server.get("/api/v1/products")
        assert listing.status_code == 200, listing.text
        assert {card["id"] for card in listing.json()["items"]} == {shop.product_a, shop.product_b}
        detail = server.get(f"/api/v1/products/{shop.product_a}")
        assert (detail.status_code, detail.json()["id"]) == (200, shop.product_a)
        ready = server.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "degraded",
                                                           "checks": {"database": "ok", "redis": "failed"}})
        # Fails open to per-process counting: the Redis counters are out of reach, this process counts anew.
        assert [login() for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]
        assert "falling back to in-memory storage" in server.log_text()

        redis_server.start()  # empty: the counters it held are gone
        # Flask-Limiter looks at Redis again after 1, 2, 4... s; meanwhile this process's own count says 429.
        wait_for(lambda: login() == 401, timeout=20, interval=0.5, what="logins counted in Redis again")
        assert limiter_keys(redis_server.url)
        assert [login() for _ in range(LIMIT)] == [401] * (LIMIT - 1) + [429]
        assert "Rate limit storage recovered" in server.log_text()
        assert '"level": "ERROR"' not in server.log_text()  # warnings only: nothing failed a request


def test_schedule_jobs_fails_closed_without_redis_and_catches_up_when_it_returns(app, redis_server):
    redis_server.stop()
    app.config["REDIS_URL"] = redis_server.url
    try:
        once = app.test_cli_runner().invoke(args=["shop", "schedule-jobs", "--once"])
    finally:
        app.config["REDIS_URL"] = None
    assert once.exit_code == 1, once.output
    assert "Redis did not answer" in once.output and "Traceback" not in once.output

    log = redis_server.directory / "scheduler.log"
    with open(log, "w") as out:
        scheduler = flask_command(app_env_of(app, REDIS_URL=redis_server.url), "schedule-jobs", "--tick", "0.2",
                                  stdout=out)
    try:
        wait_for_text(log, "retrying")  # it keeps ticking instead of dying
        redis_server.start()
        connection = Redis.from_url(redis_server.url)
        wait_for(lambda: len(jobs_queue.queue(connection)) >= len(JOBS), timeout=20, what="the jobs enqueued")
        assert scheduler.poll() is None, log.read_text()
    finally:
        scheduler.terminate()
        scheduler.wait(10)
    names = [job.args[0] for job in jobs_queue.queue(connection).get_jobs()]
    minutely = {job.name for job in JOBS if job.every == dt.timedelta(minutes=1)}
    assert set(names) == {job.name for job in JOBS}
    # Each period once: only a minutely job may be there twice, had a minute turned meanwhile.
    assert all(names.count(name) == 1 or name in minutely and names.count(name) == 2 for name in names), names
    assert "Traceback" not in log.read_text()


def test_the_worker_rides_out_redis_going_away_and_runs_what_is_queued_once_it_is_back(app, world, buyer,
                                                                                         redis_server):
    order_ids = expired_orders(buyer, world, 2)
    log = redis_server.directory / "worker.log"
    with open(log, "w") as out:
        worker = flask_command(app_env_of(app, REDIS_URL=redis_server.url), "worker", stdout=out)
    try:
        wait_for(lambda: Worker.count(connection=Redis.from_url(redis_server.url)) == 1, timeout=30,
                 what="the worker listening")
        redis_server.stop()
        wait_for_text(log, "could not connect to Redis")
        assert worker.poll() is None, log.read_text()

        redis_server.start()
        job = jobs_queue.enqueue(Redis.from_url(redis_server.url), "expire-orders")
        wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout=30,
                 what="the expiry run by the same worker process")
        assert worker.poll() is None, log.read_text()
    finally:
        worker.terminate()
        worker.wait(30)
    assert job.get_status() == "finished", log.read_text()
    assert job.return_value()["expired"] == 2
    assert expiry_effects(order_ids) == {order_id: ("cancelled", 1, 1) for order_id in order_ids}
    assert stock_of(world.sku_a) == STOCK_A
