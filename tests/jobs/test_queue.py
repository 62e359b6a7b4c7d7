"""The jobs on RQ with a real Redis: schedulers racing enqueue a period's run once, and two worker processes
(`flask shop worker`, real RQ workers forking a horse per job) running the same expiry twice over find no
double effect."""
from __future__ import annotations

import datetime as dt
import subprocess
import threading

from rq import Worker

from shop.jobs import queue as jobs_queue
from shop.jobs.registry import JOBS
from tests.served import app_env_of, flask_command
from tests.jobs.helpers import expired_orders, expiry_effects
from tests.orders.factories import STOCK_A, stock_of, wait_for

UTC = dt.timezone.utc


def queued_names(connection) -> list[str]:
    return sorted(job.args[0] for job in jobs_queue.queue(connection).get_jobs())


def test_two_schedulers_racing_enqueue_each_period_once(redis_url):
    _, url = redis_url
    now = dt.datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    schedulers = 8
    barrier = threading.Barrier(schedulers)
    enqueued: list[list[str]] = []

    def tick(at):
        connection = jobs_queue.connect(url)  # one connection each, as on separate hosts
        barrier.wait()
        enqueued.append(jobs_queue.schedule_due(connection, at))

    for at in (now, now + dt.timedelta(seconds=20), now + dt.timedelta(minutes=1)):
        threads = [threading.Thread(target=tick, args=(at,)) for _ in range(schedulers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    every_minute = sorted(job.name for job in JOBS if job.every == dt.timedelta(minutes=1))
    assert sorted(name for names in enqueued for name in names) == sorted(
        [job.name for job in JOBS] + every_minute)  # 10:00 all of them, 10:00:50 nothing, 10:01 the minutely
    assert queued_names(jobs_queue.connect(url)) == sorted([job.name for job in JOBS] + every_minute)


def start_worker(app, url: str) -> subprocess.Popen:
    return flask_command(app_env_of(app, REDIS_URL=url), "worker")


def test_two_workers_running_the_same_expiry_expire_each_order_once(app, world, buyer, redis_url):
    copies = 2  # the same job twice over the same orders: one copy per worker when they run together
    _, url = redis_url
    connection = jobs_queue.connect(url)
    order_ids = expired_orders(buyer, world, 4)
    assert stock_of(world.sku_a) == STOCK_A - 8

    workers = [start_worker(app, url) for _ in range(2)]
    try:
        # Both workers listening before anything is queued, so that the copies can run at the same time.
        def listening():
            assert all(worker.poll() is None for worker in workers), "a worker exited"
            return Worker.count(connection=connection) == 2

        wait_for(listening, timeout=60, what="two RQ workers")
        jobs = [jobs_queue.enqueue(connection, "expire-orders") for _ in range(copies)]
        wait_for(lambda: all(job.get_status(refresh=True) in ("finished", "failed") for job in jobs),
                 timeout=120, what="both expiry jobs done")
    finally:
        for worker in workers:
            worker.terminate()  # RQ's warm shutdown
        output = [worker.communicate(timeout=30)[0] for worker in workers]

    assert [job.get_status() for job in jobs] == ["finished"] * copies, output
    results = [job.return_value() for job in jobs]
    assert sum(result["expired"] for result in results) == 4, results
    assert expiry_effects(order_ids) == {order_id: ("cancelled", 1, 1) for order_id in order_ids}
    assert stock_of(world.sku_a) == STOCK_A  # released once per order, never twice


def test_the_worker_command_needs_redis(app):
    app.config["REDIS_URL"] = None
    result = app.test_cli_runner().invoke(args=["shop", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


def test_schedule_jobs_enqueues_a_period_once_however_often_it_runs(app, redis_url):
    _, url = redis_url
    app.config["REDIS_URL"] = url
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["shop", "schedule-jobs", "--once"])
        second = runner.invoke(args=["shop", "schedule-jobs", "--once"])
    finally:
        app.config["REDIS_URL"] = None
    assert first.exit_code == 0 and second.exit_code == 0, (first.output, second.output)
    assert all(job.name in first.output for job in JOBS)
    again = second.output.strip().removeprefix("enqueued: ").split(", ") if second.output.strip() else []
    # The same periods: nothing, unless a minute turned between the two runs (then only the minutely jobs).
    assert set(again) <= {job.name for job in JOBS if job.every == dt.timedelta(minutes=1)}, second.output
