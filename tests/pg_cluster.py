"""A private PostgreSQL 15 cluster for one test (scripts/pg_test_cluster.sh), for faults that must not touch
the suite's own database: restarting it, say. Skipped where PostgreSQL 15 cannot run, unless REQUIRE_POSTGRES=1
makes that a failure (as CI does)."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pg_test_cluster.sh"
UNAVAILABLE = 3  # the script's exit status when PostgreSQL 15 cannot be run here


@dataclass
class Cluster:
    directory: Path
    url: str

    def _run(self, command: str) -> None:
        subprocess.run(["bash", str(SCRIPT), command, str(self.directory)], check=True, capture_output=True,
                       timeout=120)

    def restart(self) -> None:
        """pg_ctl restart -m fast: every session is cut, the server comes back on the same port."""
        self._run("restart")


@contextlib.contextmanager
def private_cluster():
    # Not pytest's tmp_path: as root the server runs as the postgres user, which must reach the directory.
    parent = Path(tempfile.mkdtemp(prefix="shop-pg-", dir="/tmp"))
    parent.chmod(0o755)
    directory = parent / "cluster"
    started = subprocess.run(["bash", str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                             timeout=180)
    try:
        if started.returncode == UNAVAILABLE and os.environ.get("REQUIRE_POSTGRES") != "1":
            pytest.skip("PostgreSQL 15 cannot run here (REQUIRE_POSTGRES=1 makes this fail): " + started.stderr.strip())
        assert started.returncode == 0, started.stderr
        cluster = Cluster(directory, started.stdout.strip())
        try:
            yield cluster
        finally:
            cluster._run("stop")
    finally:
        shutil.rmtree(parent, ignore_errors=True)
