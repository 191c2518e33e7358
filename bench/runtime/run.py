"""GpuJob created → its process running, on the local pod runtime: p50/p99 over 50 jobs.

"Running" is measured by the process itself: its first act is to print time.time(), which lands
in its CRI log file; the latency is that time minus the wall clock just before the create call
(same machine, same clock). Where the time goes is read from watches the bench keeps on the
namespace's GpuJobs and Pods (the time each change is first seen, sub-second, unlike the API's
one-second timestamps):
  operator   created -> the job's first status (the operator saw it, announced and recorded it)
  pods       first status -> its pod exists (the operator created the gang)
  placement  pod exists -> pod bound (spec.nodeName)
  runtime    bound -> the process's first line (runtime start + Python start)
  report     first line -> the pod's Running/Succeeded status seen (the runtime's report)
Baselines, same run, same command, same pace:
  pod      a bare Pod already bound (spec.nodeName set): the runtime alone, no operator, no
           placement, no scheduler
  process  `python -c ...` started directly with subprocess: what starting Python costs here
Three runs; each prints p50/p99 per kind, then min/median/max across the runs.

Operator variants, interleaved in every run (the GpuJob operator restarted with each one's
environment before its batch): LULEA_BENCH_VARIANTS is a JSON object {label: {ENV: value}},
default {"now": {}, "4-connections": {"LULEA_GPUJOB_API_CONNECTIONS": "4"}}, the second being
the operator's API client as it was before (the client library's default pool of 4).

    uv run --no-sync python bench/runtime/run.py            # own stack on port base 29000
    LULEA_BENCH_STACK=.lulea uv run --no-sync python bench/runtime/run.py   # a running stack
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client as k8s

from lulea.core.kube import Kube
from lulea.core.kube.informer import Informer
from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths
from lulea.devstack.process import stop

JOBS = int(os.environ.get("LULEA_BENCH_JOBS", "50"))
VARIANTS: dict[str, dict[str, str]] = json.loads(os.environ.get(
    "LULEA_BENCH_VARIANTS", '{"now": {}, "4-connections": {"LULEA_GPUJOB_API_CONNECTIONS": "4"}}'))
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


class Seen:
    """The first time the bench sees each stage of each object, from its watches."""

    def __init__(self, kube: Kube, ns: str) -> None:
        self.t: dict[tuple[str, str], float] = {}
        self.pods = Informer(kube, f"/api/v1/namespaces/{ns}/pods", changed=self._pod)
        self.jobs = Informer(kube, f"/apis/{G}/{V}/namespaces/{ns}/gpujobs", changed=self._job)

    def _mark(self, stage: str, name: str) -> None:
        self.t.setdefault((stage, name), time.time())

    def _pod(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None:
            return
        name = pod["metadata"]["name"]
        self._mark("pod", name)
        if (pod.get("spec") or {}).get("nodeName"):
            self._mark("bound", name)
        if (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed"):
            self._mark("running", name)

    def _job(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is not None and (job.get("status") or {}).get("phase"):
            self._mark("status", job["metadata"]["name"])

    def at(self, stage: str, name: str) -> float:
        return self.t.get((stage, name), float("nan"))


async def gpujobs(s: Stack, api: k8s.ApiClient, ns: str, run: int, seen: Seen,
                  variant: str) -> dict[str, list[float]]:
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    created: dict[str, float] = {}
    for i in range(JOBS):
        name = f"j{run}-v{list(VARIANTS).index(variant)}-{i}"
        body = {"apiVersion": f"{G}/{V}", "kind": "GpuJob", "metadata": {"name": name},
                "spec": {"image": "python", "command": ["python", "-c", CODE], "gpus": 1}}
        created[name] = time.time()
        await custom.create_namespaced_custom_object(G, V, ns, "gpujobs", body)
        await asyncio.sleep(PACE)
    printed = await asyncio.gather(*(first_line(s, core, ns, f"{n}-a1-0") for n in created))
    await asyncio.sleep(1)  # the runtime's Running/Succeeded report, for the last stage
    out: dict[str, list[float]] = {k: [] for k in ("total", *STAGES)}
    for (job, t0), t_print in zip(created.items(), printed, strict=True):
        pod = f"{job}-a1-0"
        marks = [t0, seen.at("status", job), seen.at("pod", pod), seen.at("bound", pod), t_print,
                 seen.at("running", pod)]
        out["total"].append(t_print - t0)
        for stage, (a, b) in zip(STAGES, itertools.pairwise(marks), strict=True):
            out[stage].append(b - a)
    return out


STAGES = ("operator", "pods", "placement", "runtime", "report")


async def bare_pods(s: Stack, api: k8s.ApiClient, ns: str, run: int,
                    nodes: list[str]) -> dict[str, list[float]]:
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
    return {"total": [p - c for p, c in zip(printed, created.values(), strict=True)]}


def processes() -> dict[str, list[float]]:
    out = []
    for _ in range(JOBS):
        t0 = time.time()
        argv = [sys.executable, "-c", CODE]
        printed = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        out.append(float(printed) - t0)
        time.sleep(PACE)
    return {"total": out}


def median(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]  # a stage not seen (nan) is left out
    return statistics.median(xs) if xs else float("nan")


def operator_with(s: Stack, env: dict[str, str]) -> None:
    """Restart the stack's GpuJob operator with `env` on top of its own (SIGTERM: it hands its
    Lease back, so the new one leads at once)."""
    managed = devstack.running(s.layout, "operator-gpujob")
    if managed is not None:
        stop(managed)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        devstack.start_one(s.layout, "operator-gpujob")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def clean(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    await k8s.CustomObjectsApi(api).delete_collection_namespaced_custom_object(G, V, ns, "gpujobs")
    await core.delete_collection_namespaced_pod(ns)
    async with asyncio.timeout(120):
        while (await core.list_namespaced_pod(ns)).items:
            await asyncio.sleep(0.5)


async def measure(s: Stack) -> None:
    api = api_client(s)
    core = k8s.CoreV1Api(api)
    ns = f"bench-rt-{uuid.uuid4().hex[:6]}"
    await core.create_namespace({"metadata": {"name": ns}})
    nodes = [n.metadata.name for n in (await core.list_node(label_selector="type=kwok")).items]
    seen = Seen(Kube(api), ns)
    watches = [asyncio.create_task(seen.pods.run()), asyncio.create_task(seen.jobs.run())]
    await asyncio.gather(seen.pods.synced.wait(), seen.jobs.synced.wait())
    kinds = [f"gpujob/{v}" for v in VARIANTS] + ["pod", "process"]
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    stages: dict[str, dict[str, list[float]]] = {v: {k: [] for k in STAGES} for v in VARIANTS}
    loads = [os.getloadavg()[0]]
    try:
        for run in range(RUNS):
            batches: list[tuple[str, dict[str, list[float]]]] = []
            for variant, env in VARIANTS.items():
                if len(VARIANTS) > 1:
                    operator_with(s, env)
                batches.append((f"gpujob/{variant}", await gpujobs(s, api, ns, run, seen, variant)))
                await clean(api, ns)
            batches.append(("pod", await bare_pods(s, api, ns, run, nodes)))
            batches.append(("process", processes()))
            for kind, samples in batches:
                total = samples["total"]
                p50, p99 = quantile(total, 0.5), quantile(total, 0.99)
                results[kind].append((p50, p99))
                print(f"run {run + 1}: {kind:22s} created→running over {len(total)}: "
                      f"p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms", flush=True)
                if kind.startswith("gpujob/"):
                    variant = kind.split("/", 1)[1]
                    for stage in STAGES:
                        stages[variant][stage].append(median(samples[stage]))
                    print("        stages (median ms): " + "  ".join(
                        f"{k} {median(samples[k]) * 1000:.0f}" for k in STAGES), flush=True)
            loads.append(os.getloadavg()[0])
            print(f"        load average {loads[-1]:.1f}", flush=True)
            await clean(api, ns)
            await asyncio.sleep(5)
    finally:
        if len(VARIANTS) > 1:
            operator_with(s, {})
        for w in watches:
            w.cancel()
        await core.delete_namespace(ns)
        await api.close()
    print(f"\nsummary over {RUNS} runs of {JOBS} (min / median / max, ms); pace {PACE}s between creates; "
          f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}")
    for kind, rows in results.items():
        for label, idx in (("p50", 0), ("p99", 1)):
            xs = [r[idx] * 1000 for r in rows]
            print(f"  {kind:22s} {label}: {min(xs):7.1f} / {statistics.median(xs):7.1f} / {max(xs):7.1f}")
    for variant in VARIANTS:
        print(f"  gpujob/{variant} stages, each run's median (min / median / max, ms):")
        for stage in STAGES:
            xs = [x * 1000 for x in stages[variant][stage]]
            print(f"    {stage:9s} {min(xs):7.1f} / {statistics.median(xs):7.1f} / {max(xs):7.1f}")
    p = statistics.median(r[0] for r in results["pod"])
    for variant in VARIANTS:
        g = statistics.median(r[0] for r in results[f"gpujob/{variant}"])
        print(f"  gpujob/{variant} over bare pod (median p50): +{(g - p) * 1000:.1f} ms "
              "(operator + placement)")


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
