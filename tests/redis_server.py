"""A real redis-server of the test's own on a unix socket (tests/conftest.py imports the fixture, so any test
may ask for `redis_url`). Skipped when redis-server is not installed, unless REQUIRE_REDIS=1 makes that fail."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


@pytest.fixture
def redis_url(tmp_path_factory):
    """(the server's process, its unix:// URL); stopped after the test (a test may stop it sooner)."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail("REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server); REQUIRE_REDIS=1 makes this fail")
    directory = tmp_path_factory.mktemp("redis")
    sock = directory / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    yield proc, f"unix://{sock}"
    proc.terminate()
    proc.wait(10)
