"""GpuJob created → its process running, on the local pod runtime: p50/p99 over 50 jobs.

"Running" is measured by the process itself: its first act is to print time.time(), which lands
in its CRI log file; the latency is that time minus the wall clock just before the create call
(same machine, same clock). Baselines, same run, same command, same pace:
  pod      a bare Pod already bound (spec.nodeName set): the runtime alone, no operator, no
           placement, no scheduler
  process  `python -c ...` started directly with subprocess: what starting Python costs here
Three runs; each prints p50/p99 per kind, then min/median/max across the runs.

    uv run --no-sync python bench/runtime/run.py            # own stack on port base 29000
    LULEA_BENCH_STACK=.lulea uv run --no-sync python bench/runtime/run.py   # a running stack
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client as k8s

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths

JOBS = int(os.environ.get("LULEA_BENCH_JOBS", "50"))
RUNS = int(os.environ.get("LULEA_BENCH_RUNS", "3"))
PACE = float(os.environ.get("LULEA_BENCH_PACE", "0.2"))  # seconds between two creates
CODE = "import time; print(time.time(), flush=True)"
G, V = "lulea.io", "v1alpha1"


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def api_client(s: Stack) -> k8s.ApiClient:
    cfg = k8s.Configuration(host=s.api_server)
    cfg.ssl_ca_cert = str(s.ca_file)
    cfg.api_key = {"BearerToken": s.tokens["admin"]}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    return k8s.ApiClient(cfg)


async def first_line(s: Stack, core: k8s.CoreV1Api, ns: str, name: str, timeout: float = 120) -> float:
    """The time the process printed, from its CRI log (found through the pod's uid)."""
    deadline = time.monotonic() + timeout
    path: Path | None = None
    while time.monotonic() < deadline:
        if path is None:
            try:
                pod = await core.read_namespaced_pod(name, ns)
                path = s.layout.pod_logs / f"{ns}_{name}_{pod.metadata.uid}" / "main" / "0.log"
            except k8s.ApiException:
                pass
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                parts = line.split(" ", 3)
                if len(parts) == 4 and parts[1] == "stdout":
                    return float(parts[3])
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{ns}/{name} never printed")


async def gpujobs(s: Stack, api: k8s.ApiClient, ns: str, run: int) -> list[float]:
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    created: dict[str, float] = {}
    for i in range(JOBS):
        name = f"j{run}-{i}"
        body = {"apiVersion": f"{G}/{V}", "kind": "GpuJob", "metadata": {"name": name},
                "spec": {"image": "python", "command": ["python", "-c", CODE], "gpus": 1}}
        created[name] = time.time()
        await custom.create_namespaced_custom_object(G, V, ns, "gpujobs", body)
        await asyncio.sleep(PACE)
    printed = await asyncio.gather(*(first_line(s, core, ns, f"{n}-a1-0") for n in created))
    return [p - c for p, c in zip(printed, created.values(), strict=True)]


async def bare_pods(s: Stack, api: k8s.ApiClient, ns: str, run: int, nodes: list[str]) -> list[float]:
    core = k8s.CoreV1Api(api)
    created: dict[str, float] = {}
    for i in range(JOBS):
        name = f"p{run}-{i}"
        body: dict[str, Any] = {"metadata": {"name": name}, "spec": {
            "nodeName": nodes[i % len(nodes)], "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [{"name": "main", "image": "python", "command": ["python", "-c", CODE]}]}}
        created[name] = time.time()
        await core.create_namespaced_pod(ns, body)
        await asyncio.sleep(PACE)
    printed = await asyncio.gather(*(first_line(s, core, ns, n) for n in created))
    return [p - c for p, c in zip(printed, created.values(), strict=True)]


def processes() -> list[float]:
    out = []
    for _ in range(JOBS):
        t0 = time.time()
        argv = [sys.executable, "-c", CODE]
        printed = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        out.append(float(printed) - t0)
        time.sleep(PACE)
    return out


async def measure(s: Stack) -> None:
    api = api_client(s)
    core = k8s.CoreV1Api(api)
    ns = f"bench-rt-{uuid.uuid4().hex[:6]}"
    await core.create_namespace({"metadata": {"name": ns}})
    nodes = [n.metadata.name for n in (await core.list_node(label_selector="type=kwok")).items]
    results: dict[str, list[tuple[float, float]]] = {"gpujob": [], "pod": [], "process": []}
    try:
        for run in range(RUNS):
            for kind, samples in (("gpujob", await gpujobs(s, api, ns, run)),
                                  ("pod", await bare_pods(s, api, ns, run, nodes)),
                                  ("process", processes())):
                p50, p99 = quantile(samples, 0.5), quantile(samples, 0.99)
                results[kind].append((p50, p99))
                print(f"run {run + 1}: {kind:8s} created→running over {len(samples)}: "
                      f"p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms", flush=True)
            await k8s.CustomObjectsApi(api).delete_collection_namespaced_custom_object(G, V, ns, "gpujobs")
            await core.delete_collection_namespaced_pod(ns)
            await asyncio.sleep(5)
    finally:
        await core.delete_namespace(ns)
        await api.close()
    print(f"\nsummary over {RUNS} runs of {JOBS} (min / median / max, ms); pace {PACE}s between creates")
    for kind, rows in results.items():
        for label, idx in (("p50", 0), ("p99", 1)):
            xs = [r[idx] * 1000 for r in rows]
            print(f"  {kind:8s} {label}: {min(xs):7.1f} / {statistics.median(xs):7.1f} / {max(xs):7.1f}")
    g = statistics.median(r[0] for r in results["gpujob"])
    p = statistics.median(r[0] for r in results["pod"])
    print(f"  GpuJob over bare pod (median p50): +{(g - p) * 1000:.1f} ms (operator + placement)")


def main() -> None:
    reuse = os.environ.get("LULEA_BENCH_STACK")
    if reuse:
        asyncio.run(measure(Stack.from_endpoints(Path(reuse).resolve())))
        return
    state = Path("/tmp/lulea-bench-runtime")
    layout = Layout(state, int(os.environ.get("LULEA_BENCH_PORT_BASE", "29000")), tools=tool_paths())
    try:
        devstack.up(layout)
        asyncio.run(measure(Stack.from_endpoints(state)))
    finally:
        devstack.down(layout)


if __name__ == "__main__":
    main()
