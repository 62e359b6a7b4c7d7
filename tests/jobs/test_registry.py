"""The registry: every job is one entry, runs on the embedded default, and a second run changes nothing."""
from __future__ import annotations

import datetime as dt

from shop.database import utcnow
from shop.jobs.registry import JOBS, job_named, next_due, period_start, run_due
from tests.jobs.helpers import expired_orders, expiry_effects, row_counts
from tests.orders.factories import STOCK_A, state, stock_of

UTC = dt.timezone.utc


def test_every_job_is_registered_once_and_resolves():
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))
    assert {"expire-orders", "reconcile-payments", "auto-confirm", "send-outbox", "close-campaigns",
            "settle-campaigns", "standing-orders", "refresh-assistance-rollup", "close-settlements"} == set(names)
    for job in JOBS:
        assert callable(job.resolve()), job.name
        assert job.every >= dt.timedelta(minutes=1)
    assert job_named("expire-orders").every == dt.timedelta(minutes=1)


def test_periods_are_aligned_on_the_epoch_whenever_a_host_started():
    every = dt.timedelta(minutes=5)
    assert period_start(dt.datetime(2026, 3, 1, 10, 7, 59, tzinfo=UTC), every) == dt.datetime(
        2026, 3, 1, 10, 5, tzinfo=UTC)
    assert period_start(dt.datetime(2026, 3, 1, 10, 10, tzinfo=UTC), every) == dt.datetime(
        2026, 3, 1, 10, 10, tzinfo=UTC)
    assert next_due(dt.datetime(2026, 3, 1, 10, 7, 30, tzinfo=UTC)) == dt.datetime(2026, 3, 1, 10, 8, tzinfo=UTC)


def test_run_due_runs_every_job_and_a_second_run_changes_nothing(world, buyer):
    order_ids = expired_orders(buyer, world, 2)
    results = run_due(utcnow())
    assert set(results) == {job.name for job in JOBS}
    assert not [name for name, result in results.items() if isinstance(result, dict) and "error" in result], results
    assert results["expire-orders"]["expired"] == 2
    assert expiry_effects(order_ids) == {order_id: ("cancelled", 1, 1) for order_id in order_ids}
    assert stock_of(world.sku_a) == STOCK_A

    before = (row_counts(), state())
    again = run_due(utcnow())
    assert again["expire-orders"]["expired"] == 0
    assert (row_counts(), state()) == before
    assert expiry_effects(order_ids) == {order_id: ("cancelled", 1, 1) for order_id in order_ids}


def test_run_due_runs_a_job_once_per_period():
    now = dt.datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    last: dict = {}
    assert set(run_due(now, last)) == {job.name for job in JOBS}
    assert run_due(now + dt.timedelta(seconds=20), last) == {}
    assert set(run_due(now + dt.timedelta(minutes=1), last)) == {
        job.name for job in JOBS if job.every == dt.timedelta(minutes=1)}


def test_one_failing_job_does_not_stop_the_others(monkeypatch):
    from shop.notifications import services

    def broken(**_):
        raise RuntimeError("a bug in one job")

    monkeypatch.setattr(services, "deliver_outbox", broken)
    results = run_due(utcnow())
    assert results["send-outbox"] == {"error": "RuntimeError"}
    assert set(results) == {job.name for job in JOBS}


def test_flask_shop_run_jobs_once(app):
    result = app.test_cli_runner().invoke(args=["shop", "run-jobs", "--once"])
    assert result.exit_code == 0, result.output
    for job in JOBS:
        assert f"{job.name}: " in result.output


def test_every_job_has_a_flask_shop_command_that_runs_it(app, world, buyer):
    """The commands come from the registry: a job added there is runnable by name, and runs as the queue runs it."""
    runner = app.test_cli_runner()
    commands = app.cli.commands["shop"].commands
    assert {job.name for job in JOBS} <= set(commands)
    order_ids = expired_orders(buyer, world, 1)
    result = runner.invoke(args=["shop", "expire-orders"])
    assert result.exit_code == 0, result.output
    assert "'expired': 1" in result.output
    assert expiry_effects(order_ids) == {order_ids[0]: ("cancelled", 1, 1)}
    assert "'expired': 0" in runner.invoke(args=["shop", "expire-orders"]).output
