"""The jobs on an RQ queue (when REDIS_URL is set): a scheduler that enqueues each job once per period, and
workers that run them inside the app.

Several schedulers may run, on several hosts, for availability: each claims (job, period start) with one
`SET key NX EX`, and only the one that set the key enqueues, so a period's run is enqueued once however many
schedulers tick. A scheduler that dies between claiming and enqueuing loses that one period's run; the jobs
catch up on everything due at their next run, so nothing is lost for longer than one period.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable

from redis import Redis
from rq import Queue, Worker

from shop.jobs.registry import JOBS, Job, period_start

QUEUE_NAME = "shop-jobs"
KEY_PREFIX = "shop:jobs:period:"
JOB_TIMEOUT_SECONDS = 30 * 60  # the longest job (a month's settlements, a rollup) on a large shop
RESULT_TTL_SECONDS = 24 * 60 * 60


def connect(url: str) -> Redis:
    # Bounded connects, so an unreachable Redis is an error the scheduler reports and the worker retries, not a
    # hang; no read timeout, which would cut a worker's blocking wait for the next job.
    return Redis.from_url(url, socket_connect_timeout=5)


def queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, default_timeout=JOB_TIMEOUT_SECONDS)


def period_key(job: Job, start: dt.datetime) -> str:
    return f"{KEY_PREFIX}{job.name}:{start.strftime('%Y%m%dT%H%M%SZ')}"


def enqueue(connection: Redis, name: str):
    return queue(connection).enqueue("shop.jobs.registry.run_job", name, result_ttl=RESULT_TTL_SECONDS,
                                     description=f"shop job {name}")


def schedule_due(connection: Redis, now: dt.datetime, jobs: Iterable[Job] = JOBS) -> list[str]:
    """Enqueue every job whose period starting at or before `now` no scheduler has claimed yet; returns their
    names. The key outlives its period (twice its length), so a scheduler whose clock lags a little behind
    finds it still set."""
    enqueued = []
    for job in jobs:
        start = period_start(now, job.every)
        ttl = int(2 * job.every.total_seconds()) + 60
        if connection.set(period_key(job, start), now.isoformat(), nx=True, ex=ttl):
            enqueue(connection, job.name)
            enqueued.append(job.name)
    return enqueued


def work(connection: Redis, *, burst: bool = False, name: str | None = None) -> bool:
    """An RQ worker in the current app context. RQ forks a work horse per job: the horse inherits the app
    context, and must not share the parent's pooled database connections (two processes on one socket), so
    the pool is dropped in the child without closing the parent's connections."""
    from shop.extensions import db

    engine = db.engine
    db.session.remove()  # nothing checked out when the first horse forks
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return Worker([queue(connection)], connection=connection, name=name).work(burst=burst)
