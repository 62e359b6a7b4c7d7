"""Run localstripe (a fake Stripe API) for tests and local development.

Usage:
    python -m shop.payments.localstripe_server --port PORT [--host 127.0.0.1] [--access-log]
    python shop/payments/localstripe_server.py --port PORT     # same, by file path

Differences from stock ``python -m localstripe``:
  * binds to a loopback address only (stock localstripe listens on ``[::]``);
  * on-disk persistence is disabled: stock localstripe rewrites
    ``/tmp/localstripe.pickle`` after every change (shared by every instance
    and slower as the store grows); here state stays in memory and every
    start is from scratch;
  * prints exactly one line on stdout once it accepts connections:
    ``localstripe listening on http://127.0.0.1:PORT``;
  * exits cleanly (status 0) on SIGTERM or SIGINT;
  * honours ``Idempotency-Key`` on POSTs as Stripe does (stock localstripe ignores it): the same key with
    the same body answers what the first request answered, without doing it again. The app relies on it to
    find an intent a killed process created but never recorded (shop.payments.services). A key reused with
    another body is a new request here (Stripe would refuse it); ``DELETE /_config/data`` forgets every key.

From Python (tests, ``make run``)::

    from shop.payments.localstripe_server import start_subprocess
    proc, base_url = start_subprocess()        # free loopback port, waits until ready
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": base_url},
                                     max_network_retries=0)
        ...
    finally:
        proc.terminate(); proc.wait(10)

Reset the state between tests with ``DELETE {base_url}/_config/data``.

This module deliberately imports nothing else from ``shop`` and uses no
relative imports, so it works both as ``-m`` and as a plain file path.
localstripe and aiohttp are imported only when the server itself runs, so the
helpers below need nothing but the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
READY_PATH = "/v1/customers?limit=1"
READY_KEY = "sk_test_x"

# shop/payments/localstripe_server.py -> repository root is two levels above "payments".
REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_NAME = "shop.payments.localstripe_server"


# --------------------------------------------------------------------------
# Server side
# --------------------------------------------------------------------------

def _disable_disk_persistence() -> None:
    """Replace localstripe's pickle load/dump with no-ops (state stays in memory)."""
    from localstripe import resources

    def _noop(self, *args, **kwargs):  # pragma: no cover - trivial
        return None

    resources.Store.dump_to_disk = _noop
    resources.Store.try_load_from_disk = _noop


def _check_loopback(host: str) -> None:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit(f"--host must be a loopback IP address, got {host!r}")
    if not addr.is_loopback:
        raise SystemExit(f"refusing to listen on non-loopback address {host!r}")


def _idempotency_middleware():
    """Replay a POST's first successful answer for the same (API key, path, Idempotency-Key, body)."""
    from aiohttp import web

    answers: dict[tuple, tuple[int, bytes, str]] = {}
    locks: dict[tuple, asyncio.Lock] = {}

    @web.middleware
    async def idempotency(request, handler):
        if request.method == "DELETE" and request.path == "/_config/data":
            answers.clear()
            locks.clear()
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        ident = (request.headers.get("Authorization"), request.path, key, await request.read())
        async with locks.setdefault(ident, asyncio.Lock()):  # a concurrent replay waits for the first answer
            if ident in answers:
                status, body, content_type = answers[ident]
                return web.Response(status=status, body=body, content_type=content_type,
                                    headers={"Idempotent-Replayed": "true"})
            response = await handler(request)
            if 200 <= response.status < 300 and isinstance(response.body, bytes):
                answers[ident] = (response.status, response.body, response.content_type)
            return response

    return idempotency


async def _serve(host: str, port: int, access_log: bool) -> None:
    import logging

    from aiohttp import web
    from localstripe import server as ls_server

    logger = None
    if access_log:
        # localstripe also logs webhook deliveries on this logger.
        logger = logging.getLogger("aiohttp.access")
        logger.setLevel(logging.DEBUG)
        handler = logging.StreamHandler(sys.stderr)
        logger.addHandler(handler)

    ls_server.app.middlewares.insert(0, _idempotency_middleware())  # before the app is frozen by setup()
    runner = web.AppRunner(ls_server.app, access_log=logger, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port, reuse_address=True)
    await site.start()

    # Report the port actually bound (matters when --port 0 is given).
    bound_port = port
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        bound_port = server.sockets[0].getsockname()[1]
    host_txt = f"[{host}]" if ":" in host else host
    print(f"localstripe listening on http://{host_txt}:{bound_port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m " + MODULE_NAME,
        description="Run localstripe on loopback, in memory only.",
    )
    parser.add_argument("--port", type=int, required=True,
                        help="TCP port (0 = let the OS pick; the ready line shows it)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--access-log", action="store_true",
                        help="log requests and webhook deliveries to stderr")
    args = parser.parse_args(argv)
    _check_loopback(args.host)

    _disable_disk_persistence()
    try:
        asyncio.run(_serve(args.host, args.port, args.access_log))
    except OSError as exc:  # e.g. port already in use
        print(f"localstripe: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------
# Client-side helpers (stdlib only)
# --------------------------------------------------------------------------

def wait_until_ready(base_url: str, timeout: float = 10.0, *,
                     proc: subprocess.Popen | None = None) -> None:
    """Poll ``GET {base_url}/v1/customers?limit=1`` until it answers 200.

    Raises TimeoutError after ``timeout`` seconds, or RuntimeError at once if
    ``proc`` is given and has exited.
    """
    url = base_url.rstrip("/") + READY_PATH
    deadline = time.monotonic() + timeout
    last_error: object = None
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"localstripe exited with status {proc.returncode} before becoming ready")
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {READY_KEY}"})
        try:
            with urllib.request.urlopen(req, timeout=2.0) as resp:
                if resp.status == 200:
                    return
                last_error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"localstripe at {base_url} not ready after {timeout}s: {last_error}")
        time.sleep(0.05)


def _free_loopback_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_subprocess(port: int | None = None, *, timeout: float = 10.0,
                     stdout=None, stderr=None, access_log: bool = False,
                     ) -> tuple[subprocess.Popen, str]:
    """Start the server in a child process and wait until it answers.

    Returns ``(popen, base_url)``, base_url like ``http://127.0.0.1:PORT``.
    With ``port=None`` a free loopback port is picked (and, should another
    process grab it first, a new one is tried, up to 3 times).  The caller
    stops it with ``popen.terminate(); popen.wait()``.  ``stdout``/``stderr``
    are passed to Popen (default: inherited).
    """
    attempts = 3 if port is None else 1
    last_exc: Exception | None = None
    for _ in range(attempts):
        p = port if port is not None else _free_loopback_port()
        cmd = [sys.executable, "-m", MODULE_NAME, "--port", str(p), "--host", DEFAULT_HOST]
        if access_log:
            cmd.append("--access-log")
        proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=stdout, stderr=stderr,
                                stdin=subprocess.DEVNULL)
        base_url = f"http://{DEFAULT_HOST}:{p}"
        try:
            wait_until_ready(base_url, timeout=timeout, proc=proc)
            return proc, base_url
        except RuntimeError as exc:  # child died (port taken?): retry
            last_exc = exc
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    raise RuntimeError(f"could not start localstripe: {last_exc}")


if __name__ == "__main__":
    sys.exit(main())
