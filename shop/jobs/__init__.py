"""Background jobs: which exist and how often they run (shop.jobs.registry), run in process on the embedded
default (`flask shop run-jobs`) or on an RQ queue when REDIS_URL is set (shop.jobs.queue)."""
from shop.jobs.registry import JOBS, Job, job_named, period_start, run_due, run_job

__all__ = ["JOBS", "Job", "job_named", "period_start", "run_due", "run_job"]
