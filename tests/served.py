"""The app in processes of its own, over real HTTP on a free loopback port: a real gunicorn, for the tests where
the process boundary matters (a worker killed, per-process rate limits, a dependency stopped under a server),
started on the database and localstripe the test names, waited for, and stopped (its log shown when the test
fails); `flask shop ...` commands (an RQ worker, the scheduler); or werkzeug's threaded server in the test's own
process (no start-up to wait for), for an app object the test built (a database restarted under traffic)."""
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
from dataclasses import dataclass, field
from pathlib import Path

import requests

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
    http: requests.Session = field(default_factory=requests.Session)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.http.post(self.base + path, timeout=10, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc (Linux)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def kill_worker(self) -> int:
        """SIGKILL one worker (no cleanup, no response, as the OOM killer does); the master starts another."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid


def app_env(database_url: str, stripe_base: str | None = None, **extra) -> dict[str, str]:
    """The environment of an app process: development settings on the given database and localstripe, JSON logs,
    plus `extra`. REDIS_URL only when given: one in the test runner's environment must not leak into it."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"FLASK_APP": "wsgi", "SHOP_ENV": "development", "SECRET_KEY": "served-test",
                "DATABASE_URL": database_url, "STRIPE_SECRET_KEY": "sk_test_suite",
                "STRIPE_WEBHOOK_SECRET": "whsec_test_suite", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json",
                "MAX_UNPAID_ORDERS": "100000"})
    if stripe_base:
        env["STRIPE_API_BASE"] = stripe_base
    env.update({name: str(value) for name, value in extra.items()})
    return env


def app_env_of(app, **extra) -> dict[str, str]:
    """app_env on `app`'s own database and localstripe."""
    return app_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("STRIPE_API_BASE"), **extra)


def flask_command(env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    """`flask shop <args>` in a child process (stdout and stderr together, as text, unless told otherwise)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, **popen}
    return subprocess.Popen([sys.executable, "-m", "flask", "shop", *args], cwd=ROOT, env=env, **options)


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
        served.http.close()
        process.terminate()  # graceful: the workers finish their requests
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
