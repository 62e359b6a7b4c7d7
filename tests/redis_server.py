"""A real redis-server of the test's own on a unix socket (tests/conftest.py imports the fixtures, so any test
may ask for `redis_url`, or for `redis_server` to stop and start it again on the same socket). Skipped when
redis-server is not installed, unless REQUIRE_REDIS=1 makes that fail."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest


class RedisServer:
    """redis-server on `directory`/redis.sock, in memory only: a restart starts empty, as a server without
    persistence does after a crash."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        server = shutil.which("redis-server")
        if server is None:
            if os.environ.get("REQUIRE_REDIS") == "1":
                pytest.fail("REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)")
            pytest.skip("redis-server is not installed (apt-get install redis-server); REQUIRE_REDIS=1 makes "
                        "this fail")
        self.proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(self.socket),
                                      "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.directory)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """As an outage looks to clients: the socket goes away and nothing answers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """(the server's process, its unix:// URL); stopped after the test (a test may stop it sooner)."""
    return redis_server.proc, redis_server.url
