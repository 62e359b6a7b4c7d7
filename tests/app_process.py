"""The app in processes of its own on the test's database: a real gunicorn, `flask shop ...` commands. For tests
where the process boundary matters (per-process rate limits, an RQ worker, a dependency stopped under a server)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def app_env(app, **settings) -> dict[str, str]:
    """The environment of a process serving `app`'s database and localstripe, plus `settings` (REDIS_URL only
    when given: a REDIS_URL in the test runner's environment must not leak into the process)."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"FLASK_APP": "wsgi", "SHOP_ENV": "development", "SECRET_KEY": "process-test",
                "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json"})
    for name in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        if app.config.get(name):
            env[name] = app.config[name]
    env.update({name: str(value) for name, value in settings.items()})
    return env


def flask_command(env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    """`flask shop <args>` in a child process (stdout and stderr together, as text, unless told otherwise)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, **popen}
    return subprocess.Popen([sys.executable, "-m", "flask", "shop", *args], cwd=ROOT, env=env, **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn wsgi:app` on a loopback port; its log (stderr, JSON lines) goes to `log_path`."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--no-control-socket", "--timeout", "30", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.http = requests.Session()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"gunicorn exited: {self.log()}"
            try:
                if self.http.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or the worker still importing the app
                pass
            assert time.monotonic() < deadline, f"gunicorn did not answer: {self.log()}"
            time.sleep(0.1)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.http.post(self.base + path, timeout=10, **kwargs)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # graceful: the workers finish their requests
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.http.close()
        self._log.close()
