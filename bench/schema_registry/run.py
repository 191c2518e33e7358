"""Schema registry throughput on loopback, next to a bare Starlette ceiling measured in the same run.

    uv run --no-sync python bench/schema_registry/run.py [--seconds 5] [--rounds 3] [--connections 64]

Starts (on ports 23500-23599) the ceiling (`ceiling.py`) and the registry
(`python -m lulea.schema_registry`, auth off, a fresh database in the dev stack's FerretDB,
or LULEA_BENCH_MONGO_URI), then drives each with `wrk` (Debian package; one thread, keep-alive):
  1. GET /schemas/ids/{id} on the ceiling (constant body),
  2. GET /schemas/ids/{id} on the registry, rotating over 100 registered ids,
  3. POST /subjects/{s}/versions on the registry, every request a new schema (BACKWARD checked),
     then the same against the registry on its in-memory store (`memory_registry.py`), which
     separates the service's own cost from the database's.
Prints requests/s and p99 for each and the lookup/ceiling ratio (target >= 0.60).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LOOKUP_IDS = 100


def free_port() -> int:
    for port in range(23500, 23600):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 23500-23599")


def mongo_uri() -> str:
    if os.environ.get("LULEA_BENCH_MONGO_URI"):
        return os.environ["LULEA_BENCH_MONGO_URI"]
    endpoints = REPO / ".lulea" / "endpoints.json"
    if endpoints.exists():
        return str(json.loads(endpoints.read_text())["mongo_uri"])
    sys.exit("no MongoDB: start the dev stack (make up) or set LULEA_BENCH_MONGO_URI")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early ({url})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"server not ready: {url}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, script: str, seconds: int, connections: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, failed count: non-2xx plus socket errors/timeouts) from one run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
         "-s", f.name, url],
        capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return rps, float(value) * _UNITS[unit], failed


def median_run(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The run with the median requests/s (its own p99), errors summed over all runs."""
    ordered = sorted(runs)
    rps, p99, _ = ordered[len(ordered) // 2]
    return rps, p99, sum(r[2] for r in runs)


LOOKUP_LUA = """
local ids = {%s}
local i = 0
request = function()
  i = i %% #ids + 1
  return wrk.format("GET", "/schemas/ids/" .. ids[i])
end
"""

REGISTER_LUA = """
local n = 0
local tag = "%s"
request = function()
  n = n + 1
  local subject = "bench." .. tag .. "-" .. (n %% 50) .. "-value"
  local body = '{"schema":"{\\\\"type\\\\":\\\\"record\\\\",\\\\"name\\\\":\\\\"R\\\\",\\\\"fields\\\\":[' ..
    '{\\\\"name\\\\":\\\\"a\\\\",\\\\"type\\\\":\\\\"int\\\\"},' ..
    '{\\\\"name\\\\":\\\\"x' .. n .. '\\\\",\\\\"type\\\\":\\\\"long\\\\",\\\\"default\\\\":0}]}"}'
  return wrk.format("POST", "/subjects/" .. subject .. "/versions",
    {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}, body)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    database = f"sr_bench_{uuid.uuid4().hex[:8]}"
    uri = mongo_uri()
    ceiling_port, registry_port = free_port(), 0
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([sys.executable, str(HERE / "ceiling.py"), str(ceiling_port)]))
        ceiling = f"http://127.0.0.1:{ceiling_port}"
        wait_ready(f"{ceiling}/schemas/ids/1", procs[-1])
        registry_port = free_port()
        env = {**os.environ, "LULEA_SCHEMA_REGISTRY_HOST": "127.0.0.1",
               "LULEA_SCHEMA_REGISTRY_PORT": str(registry_port),
               # the service alone, as the ceiling is: no TLS (no CA), no authentication
               "LULEA_ENV": "local", "LULEA_SCHEMA_REGISTRY_EVERY_CALLER_IS_PLATFORM": "true",
               "LULEA_SCHEMA_REGISTRY_MONGO_URI": uri,
               "LULEA_SCHEMA_REGISTRY_MONGO_DATABASE": database,
               "LULEA_SCHEMA_REGISTRY_LOG_LEVEL": "WARNING"}
        procs.append(subprocess.Popen([sys.executable, "-m", "lulea.schema_registry"], env=env))
        registry = f"http://127.0.0.1:{registry_port}"
        wait_ready(f"{registry}/readyz", procs[-1])

        ids = []
        for i in range(LOOKUP_IDS):
            body = {"schema": json.dumps({"type": "record", "name": f"L{i}",
                                          "fields": [{"name": "a", "type": "int"}]})}
            ids.append(httpx.post(f"{registry}/subjects/bench.lookup{i}-value/versions",
                                  json=body).json()["id"])
        lookup = LOOKUP_LUA % ",".join(str(i) for i in ids)
        wrk(ceiling, lookup, 2, args.connections)  # warm both up
        wrk(registry, lookup, 2, args.connections)
        # alternate short rounds so both see the same background load; report the medians
        ceiling_runs, lookup_runs = [], []
        for _ in range(args.rounds):
            ceiling_runs.append(wrk(ceiling, lookup, args.seconds, args.connections))
            lookup_runs.append(wrk(registry, lookup, args.seconds, args.connections))
        c_rps, c_p99, c_bad = median_run(ceiling_runs)
        l_rps, l_p99, l_bad = median_run(lookup_runs)
        # writers: fewer connections (FerretDB/SQLite serializes writes; 64 writers only queue)
        r_rps, r_p99, r_bad = wrk(registry, REGISTER_LUA % uuid.uuid4().hex[:6],
                                  args.seconds * 2, args.writers)
        # the same registrations without a database: the service's own cost
        memory_port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(HERE / "memory_registry.py"),
                                       str(memory_port)]))
        memory = f"http://127.0.0.1:{memory_port}"
        wait_ready(f"{memory}/readyz", procs[-1])
        m_rps, m_p99, m_bad = wrk(memory, REGISTER_LUA % uuid.uuid4().hex[:6], args.seconds,
                                  args.writers)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)
        try:
            from pymongo import MongoClient

            with MongoClient(uri, serverSelectionTimeoutMS=3000) as client:
                client.drop_database(database)
        except Exception as exc:  # cleanup only; the numbers are already measured
            print(f"(could not drop {database}: {exc})")

    print(f"loopback, wrk -t1 -c{args.connections}, lookups: median of {args.rounds} alternating"
          f" {args.seconds}s rounds; registration: {args.seconds * 2}s;"
          f" one uvicorn process each, {os.cpu_count()} cores shared")
    print(f"{'endpoint':44} {'req/s':>10} {'p99 ms':>8} {'failed':>8}")
    print(f"{'ceiling: bare Starlette constant':44} {c_rps:10.0f} {c_p99:8.2f} {c_bad:8d}")
    print(f"{'registry: GET /schemas/ids/{id}':44} {l_rps:10.0f} {l_p99:8.2f} {l_bad:8d}")
    print(f"{'registry: POST /subjects/{s}/versions (new)':44} {r_rps:10.0f} {r_p99:8.2f}"
          f" {r_bad:8d}  ({args.writers} connections, FerretDB)")
    print(f"{'  same, in-memory store (service cost only)':44} {m_rps:10.0f} {m_p99:8.2f}"
          f" {m_bad:8d}  ({args.writers} connections)")
    ratio = l_rps / c_rps
    print(f"lookup / ceiling = {ratio:.2f} (target >= 0.60: {'met' if ratio >= 0.6 else 'NOT met'})")


if __name__ == "__main__":
    main()
