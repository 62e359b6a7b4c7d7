"""The app served over real HTTP on a free loopback port: by a real gunicorn, for the tests that need real
processes (a worker killed), started on the database and localstripe the test names, waited for, and stopped
(its log shown when the test fails); or by werkzeug's threaded server in the test's own process (no start-up
to wait for), for an app object the test built (a database restarted under traffic)."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    base: str
    process: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc (Linux)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def kill_worker(self) -> int:
        """SIGKILL one worker (no cleanup, no response, as the OOM killer does); the master starts another."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid


def app_env(database_url: str, stripe_base: str, **extra: str) -> dict[str, str]:
    """The environment of a served app: development settings on the given database and localstripe."""
    env = {**os.environ, "SHOP_ENV": "development", "SECRET_KEY": "served-test", "DATABASE_URL": database_url,
           "STRIPE_API_BASE": stripe_base, "STRIPE_SECRET_KEY": "sk_test_suite",
           "STRIPE_WEBHOOK_SECRET": "whsec_test_suite", "LOG_LEVEL": "WARNING", "MAX_UNPAID_ORDERS": "100000"}
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def wait_http(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def gunicorn(log_dir: Path, env: dict[str, str], *, workers: int = 2, threads: int = 4, config: Path | None = None):
    """`gunicorn -w workers --threads threads wsgi:app` (gthread) until the block ends."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), "-b", f"{LOOPBACK}:{port}",
           "--graceful-timeout", "5", "--no-control-socket", "--error-logfile", str(log), "--log-level", "warning",
           *(["-c", str(config)] if config else []), "wsgi:app"]
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    served = Served(f"http://{LOOPBACK}:{port}", process, log)
    try:
        wait_http(served.base + "/healthz", timeout=60, process=process)
        yield served
    except BaseException:
        print(f"--- {log} ---\n{log.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def threaded_server(app):
    """`app` served by werkzeug's threaded server in this process until the block ends; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server(LOOPBACK, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
