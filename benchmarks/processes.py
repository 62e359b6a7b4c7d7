"""Processes a benchmark starts and stops: a throwaway PostgreSQL cluster, servers on free loopback ports, and a
cleanup stack that stops everything on exit, SIGTERM and Ctrl-C. Shared by benchmarks.run and benchmarks.http."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc=None) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout}s")
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen, what: str) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        log(f"{what} did not stop on SIGTERM; killing pid {proc.pid}")
        proc.kill()
        proc.wait(5)


PIDS: dict[str, int] = {}  # processes whose CPU time is accounted during the checkout storm


class Cleanup:
    def __init__(self):
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        self.stack.__enter__()
        self._old = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, signum, frame):
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        try:
            return self.stack.__exit__(*exc)
        finally:
            signal.signal(signal.SIGTERM, self._old)


def start_pg_cluster(cleanup: Cleanup) -> str | None:
    pgdir = Path(tempfile.mkdtemp(prefix="shop-bench-pg.", dir="/tmp"))
    os.chmod(pgdir, 0o755)  # the server may run as the postgres OS user
    cluster = pgdir / "cluster"
    script = REPO / "scripts" / "pg_test_cluster.sh"

    def stop():
        subprocess.run(["bash", str(script), "stop", str(cluster)], cwd=str(REPO), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(pgdir, ignore_errors=True)

    result = subprocess.run(["bash", str(script), "start", str(cluster)], cwd=str(REPO), capture_output=True,
                            text=True)
    if result.returncode == 3:
        shutil.rmtree(pgdir, ignore_errors=True)
        log("PostgreSQL 15 binaries not found: PostgreSQL skipped (" + result.stderr.strip().splitlines()[-1] + ")")
        return None
    cleanup.stack.callback(stop)
    if result.returncode != 0:
        raise RuntimeError(f"pg_test_cluster.sh start failed ({result.returncode}): {result.stderr[-1500:]}")
    with contextlib.suppress(OSError, ValueError, IndexError):
        PIDS["postgresql:postgres"] = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
    return result.stdout.strip().splitlines()[-1]


def check_loopback_url(url: str) -> str:
    from config import normalise_database_url

    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--pg-url must point at 127.0.0.1 (got host {host!r}): this benchmark sends no traffic "
                         "elsewhere")
    return normalise_database_url(url)


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds of each named process and its live descendants, from /proc (Linux only; {}
    elsewhere). This process is counted with os.times()."""
    entries: dict[int, tuple[int, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        entries[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in entries.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for label, root in roots.items():
        total, stack = 0, [root]
        while stack:
            pid = stack.pop()
            if pid in entries and pid != os.getpid():
                total += entries[pid][1]
                stack.extend(children.get(pid, []))
        out[label] = total / tick
    me = os.times()
    out["client (this process)"] = me.user + me.system
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/stat") as fh:
            jiffies = [int(x) for x in fh.readline().split()[1:]]
        out["machine (all processes)"] = (sum(jiffies[:8]) - jiffies[3] - jiffies[4]) / tick  # minus idle, iowait
    return out
