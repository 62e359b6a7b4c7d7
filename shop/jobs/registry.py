"""The one list of background jobs and how often each runs, as data.

Every job function is already idempotent and safe on several workers (conditional UPDATEs, unique keys) and
opens its own units of work; the registry only names them and says how often. Periods are aligned on the
Unix epoch in UTC, so every host computes the same period for the same instant, whenever it started: that is
what lets several schedulers agree on "this period's run" (shop.jobs.queue).
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shop.extensions import db

logger = logging.getLogger(__name__)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Job:
    name: str
    function: str  # "module:attribute", imported when run: the registry imports no domain at start-up
    every: dt.timedelta
    kwargs: Mapping = field(default_factory=lambda: MappingProxyType({}))
    help: str = ""  # what `flask shop <name>` says it does

    def resolve(self) -> Callable[..., object]:
        module, _, attribute = self.function.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def run(self) -> object:
        return self.resolve()(**self.kwargs)


MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)

JOBS: tuple[Job, ...] = (
    Job("expire-orders", "shop.orders.jobs:expire_unpaid_orders", MINUTE,
        help="Cancel unpaid orders past their reservation time and release their stock."),
    Job("reconcile-payments", "shop.orders.jobs:reconcile_pending_payments", 5 * MINUTE,
        MappingProxyType({"older_than": 5 * MINUTE}),
        help="Ask the provider about payments pending for 5 minutes (finds payments whose webhook was lost)."),
    Job("auto-confirm", "shop.jobs.adapters:auto_confirm", HOUR,
        help="Complete delivered orders whose buyer did not confirm receipt in time."),
    Job("send-outbox", "shop.notifications.services:deliver_outbox", MINUTE,
        help="Send pending notifications by SMTP (or keep them readable when SMTP is not configured)."),
    Job("close-campaigns", "shop.presale.closing:close_due_campaigns", 5 * MINUTE,
        help="Close every pre-sale campaign whose order window has ended: succeeded or failed (and refunded)."),
    Job("settle-campaigns", "shop.presale.balances:settle_campaigns", 15 * MINUTE,
        help="Pre-sale campaigns after allocation: forfeit balances unpaid past their deadline (定金 kept), offer "
             "the freed units to waiting pledges, and complete campaigns whose orders are all done."),
    Job("standing-orders", "shop.procurement.standing_orders:run_standing_orders", HOUR,
        help="Place this period's requisition of every active standing order (once per period, however often run)."),
    Job("refresh-assistance-rollup", "shop.jobs.adapters:refresh_assistance_rollup", 24 * HOUR,
        help="Sum each finished month's attribution entries for the statistics (idempotent; a month not rolled "
             "up is read from the entries: slower, never wrong)."),
    Job("close-settlements", "shop.jobs.adapters:close_last_month", 6 * HOUR),  # its command takes --month
)


def job_named(name: str, jobs: Iterable[Job] = JOBS) -> Job:
    for job in jobs:
        if job.name == name:
            return job
    raise KeyError(f"no job named {name!r}")


def period_start(now: dt.datetime, every: dt.timedelta) -> dt.datetime:
    return EPOCH + ((now - EPOCH) // every) * every


def next_due(now: dt.datetime, jobs: Iterable[Job] = JOBS) -> dt.datetime:
    return min(period_start(now, job.every) + job.every for job in jobs)


def run_job(name: str) -> object:
    """Run one registered job in a fresh app context of the current app (a fresh session: nothing an earlier
    job left in the session is seen). What an RQ worker calls; failures propagate, so RQ records them."""
    return _run(job_named(name))


def run_due(now: dt.datetime, last: MutableMapping[str, dt.datetime] | None = None,
            jobs: Iterable[Job] = JOBS) -> dict[str, object]:
    """Run each job whose current period has not run yet according to `last` (job name → period start of its
    last run, updated here); with no `last`, every job. One job failing is logged and the others still run:
    it is tried again in its next period."""
    last = {} if last is None else last
    results: dict[str, object] = {}
    for job in jobs:
        start = period_start(now, job.every)
        if last.get(job.name) == start:
            continue
        try:
            results[job.name] = _run(job)
        except Exception as error:  # noqa: BLE001 (a loop that outlives one job's bug)
            logger.exception("job %s failed", job.name)
            results[job.name] = {"error": type(error).__name__}
        finally:
            db.session.remove()
        last[job.name] = start
    return results


def _run(job: Job) -> object:
    from flask import current_app

    with current_app._get_current_object().app_context():
        return job.run()
