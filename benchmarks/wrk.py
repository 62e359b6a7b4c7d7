"""Running wrk (the Debian package) with benchmarks/wrk_requests.lua, and reading its --latency report."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("wrk_requests.lua")
FIELD_SEPARATORS = ("\t", "\n", "\r", "\x1f")  # the request file's separators: never inside a field


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    output: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy meanwhile (benchmarks.http fills it in)

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


def wrk_binary() -> str:
    found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if not found:
        raise SystemExit("wrk not found: install the Debian package (apt-get install wrk)")
    return found


def write_requests(path: Path, requests) -> Path:
    """requests: (method, path, headers dict, body str or None) each; written one a line for the Lua script."""
    lines = []
    for method, target, headers, body in requests:
        fields = [method, target, *(headers or {}).keys(), *(headers or {}).values(), body or ""]
        if any(sep in part for part in fields for sep in FIELD_SEPARATORS):
            raise ValueError(f"a request field holds a separator: {fields!r}"[:300])
        pairs = "\x1f".join(f"{k}: {v}" for k, v in (headers or {}).items())
        lines.append("\t".join([method, target, pairs, body or ""]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Requests/sec, the 50% and 99% lines of the Latency Distribution (--latency), the request count and
    duration, socket errors, and the status counts printed by the Lua script's done()."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m),", output, re.M)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"unexpected wrk output:\n{output[-1500:]}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()))) if errors else {}
    statuses = {int(s): int(n) for s, n in re.findall(r"^wrk-status (\d+) (\d+)$", output, re.M)}
    return WrkResult(rps=float(rps.group(1)), p50_ms=_duration_ms(p50.group(1)), p99_ms=_duration_ms(p99.group(1)),
                     requests=int(total.group(1)), seconds=_duration_ms(total.group(2) + total.group(3)) / 1000,
                     statuses=statuses, socket_errors=socket_errors, output=output)


def run(base_url: str, requests_file: Path, *, seconds: float, connections: int = 16, threads: int = 2,
        idempotency_prefix: str | None = None, timeout_s: int = 30) -> WrkResult:
    """wrk -t{threads} -c{connections} -d{seconds}s --latency with the request file. --timeout 30 s: wrk's 2 s
    default would drop the slowest answers from the latency figures (counted as timeouts instead)."""
    cmd = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", f"{timeout_s}s", "-s", str(LUA), base_url, "--", str(requests_file), str(threads)]
    if idempotency_prefix:
        cmd.append(idempotency_prefix)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1500:]}\n{done.stdout[-1500:]}")
    return parse(done.stdout)
