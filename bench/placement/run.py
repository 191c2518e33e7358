"""bench/placement: lulea-placement vs kube-scheduler on one 1,000-node kwok fleet, same trace.

    uv run --no-sync python bench/placement/run.py [--jobs 3000] [--window 150] [--seed 7]

For each scheduler it starts a fresh stack (lulea-stack: control plane and kwok only, port base
24100, state in /tmp/lulea-bench-placement) with the fleet from workload.py and plays the same
seeded trace: once with the pods left to kube-scheduler (schedulerName default, the same pod
(anti-)affinity saying the shape), once with lulea-placement. The driver plays the gang runtime
for both: a gang starts working (kwok finishes its pods after its run time) only once *all* its
pods run; GPUs held by a partly placed gang are stranded. It prints, per scheduler, binding
rate, jobs completed, utilization, stranded GPUs, partial gangs, three fragmentation measures,
kwok's bind-to-start lag and the CPU each process used, then the table with ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import aiohttp
import psutil
import workload as bench_trace

from lulea.core.kube import Kube, KubeError, connect
from lulea.operators.gpujob.gang import PodEnvironment, desired_pods
from lulea.placement.domain import (
    BoundPod,
    ClusterState,
    Gang,
    Toleration,
    expected_fragmentation,
    fragmentation,
)
from lulea.placement.kube.objects import node_from, timestamp

STATE = Path("/tmp/lulea-bench-placement")
PORT_BASE = 24100
PLACEMENT_PORT = 24190
REPO = Path(__file__).resolve().parents[2]


# The bench measures the control plane, kwok and one scheduler: the platform's other parts would
# only take CPU from them on a 2-core machine (and it runs its own placement, with its settings).
SKIP = "kafka,ferretdb,operator-project,ca,schema-registry,placement,operator-gpujob,pod-runtime"


def stack(cmd: str, fleet: Path | None = None) -> None:  # our own stack, never the dev one
    argv = [
        "uv",
        "run",
        "--no-sync",
        "lulea-stack",
        cmd,
        "--state-dir",
        str(STATE),
        "--port-base",
        str(PORT_BASE),
    ]
    if fleet:
        argv += ["--fleet", str(fleet)]
    subprocess.run(argv, cwd=REPO, check=True, timeout=600, env={**os.environ, "LULEA_SKIP": SKIP})


@dataclass
class GangRun:
    pods: list[str]
    gpus_per_pod: int
    seconds: float
    gang: Gang
    created: set[str] = field(default_factory=set)
    bound: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    started: bool = False
    last_bind: float | None = None
    started_at: float | None = None
    done_at: float | None = None


class TraceRun:
    def __init__(
        self, kube: Kube, namespace: str, scheduler: str, jobs: list[dict[str, Any]], nodes: ClusterState
    ) -> None:
        self.kube, self.ns, self.scheduler = kube, namespace, scheduler
        self.nodes, self.total = nodes, nodes.total_gpus()
        self.gangs: dict[str, GangRun] = {}
        self.workload: list[Gang] = []  # one gang per job of the trace: its mix of shapes
        self.pods: list[dict[str, Any]] = []
        self.gang_of: dict[str, str] = {}
        self.node_of: dict[str, str] = {}
        self.binds: list[float] = []
        self.bound_at: dict[str, float] = {}
        self.run_lags: list[float] = []  # a pod's bind seen -> its Running seen (kwok's lag)
        self.samples: list[dict[str, float]] = []
        self.start_queue: asyncio.Queue[str] = asyncio.Queue()
        self.relists = 0
        for job in jobs:
            job = {**job, "metadata": {**job["metadata"], "namespace": namespace}}
            pods = desired_pods(job, 1, PodEnvironment())
            for p in pods:
                p["spec"]["schedulerName"] = scheduler
                del p["metadata"]["ownerReferences"]  # no GpuJob object: keep the GC away
                # 1,000 kwok nodes on 2 cores: leases lag and the node controller taints nodes
                # not-ready/unreachable now and then; both schedulers ignore that here
                p["spec"]["tolerations"] = [{"operator": "Exists"}]
                # kwok plays the pods (until the starter says how they end), not the local runtime
                p["metadata"]["annotations"]["sim.lulea.io/simulated"] = "true"
            first = pods[0]
            gang_name = first["metadata"]["labels"]["lulea.io/gang"]
            per = int(first["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
            spec = job["spec"]
            gang = Gang(
                id=gang_name,
                namespace=namespace,
                project=namespace,
                pods=tuple(p["metadata"]["name"] for p in pods),
                gpus_per_pod=per,
                distinct_hosts="hosts" in spec,
                node_selector=spec.get("nodeSelector", {}),
                group_by=(spec.get("topology") or {}).get("groupBy"),
                tolerations=(Toleration("kwok.x-k8s.io/node", "Exists", "", "NoSchedule"),),
            )
            self.gangs[gang_name] = GangRun(list(gang.pods), per, job["seconds"], gang)
            self.workload.append(gang)
            for p in pods:
                self.gang_of[p["metadata"]["name"]] = gang_name
            self.pods += pods

    async def run(self, window: float) -> dict[str, float]:
        with contextlib.suppress(KubeError):  # 409: it exists
            await self.kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": self.ns}})
        _, version = await self.kube.list(f"/api/v1/namespaces/{self.ns}/pods")
        self.t0 = time.monotonic()
        tasks = [
            asyncio.create_task(self.watch(version)),
            asyncio.create_task(self.create()),
            asyncio.create_task(self.sample()),
        ]
        tasks += [asyncio.create_task(self.starter()) for _ in range(16)]
        for t in tasks:
            t.add_done_callback(_loud)
        try:
            while time.monotonic() - self.t0 < window:
                if all(g.done_at for g in self.gangs.values()):
                    break
                await asyncio.sleep(0.5)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        report = self.report(time.monotonic() - self.t0)
        report.update(await self.server_start_lags())
        return report

    async def server_start_lags(self) -> dict[str, float]:
        """Bind -> Running as the API server recorded it (PodScheduled's transition, set by the
        Binding, and the startTime kwok writes), whole seconds: what the driver's own watch
        saw may lag behind when it is busy."""
        items, _ = await self.kube.list(f"/api/v1/namespaces/{self.ns}/pods")
        lags = []
        for pod in items:
            status = pod.get("status") or {}
            sched = next((c for c in status.get("conditions") or () if c["type"] == "PodScheduled"), None)
            if sched and sched.get("status") == "True" and status.get("startTime"):
                lags.append(timestamp(status["startTime"]) - timestamp(sched["lastTransitionTime"]))
        return {
            "server_start_lag_p50_s": _pct(lags, 0.5),
            "server_start_lag_p90_s": _pct(lags, 0.9),
            "watch_relists": float(self.relists),
        }

    async def create(self) -> None:
        slots = asyncio.Semaphore(24)

        async def one(pod: dict[str, Any]) -> None:
            async with slots:
                await self.kube.request("POST", f"/api/v1/namespaces/{self.ns}/pods", body=pod)

        await asyncio.gather(*(one(p) for p in self.pods))

    async def watch(self, version: str) -> None:
        """Every pod change, in order. A watch the API server ends is resumed where it stopped;
        one that expired (410) is replaced by a fresh list, whose items all count: a missed
        Running would leave its gang never started, its GPUs held forever."""
        path = f"/api/v1/namespaces/{self.ns}/pods"
        while True:
            try:
                async for ev in self.kube.watch(path, version):
                    obj = ev.get("object") or {}
                    if ev.get("type") == "ERROR":
                        raise KubeError(int(obj.get("code") or 500), str(obj.get("message")))
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    if ev.get("type") in ("ADDED", "MODIFIED"):
                        self.seen(obj)
            except KubeError as err:
                self.relists += 1
                print(f"{self.scheduler}: pod watch ended ({err}); listing again", flush=True)
                items, version = await self.kube.list(path)
                for obj in items:
                    self.seen(obj)

    def seen(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        gang = self.gangs.get(self.gang_of.get(name, ""))
        if gang is None:
            return
        node = obj["spec"].get("nodeName")
        phase = (obj.get("status") or {}).get("phase")
        gang.created.add(name)
        if node and name not in gang.bound:
            gang.bound.add(name)
            self.node_of[name] = node
            gang.last_bind = time.monotonic()
            self.binds.append(gang.last_bind)
            self.bound_at[name] = gang.last_bind
        if phase == "Running" and name not in gang.running:
            gang.running.add(name)
            if name in self.bound_at:
                self.run_lags.append(time.monotonic() - self.bound_at[name])
        if phase == "Succeeded":
            gang.succeeded.add(name)
            if len(gang.succeeded) == len(gang.pods) and gang.done_at is None:
                gang.done_at = time.monotonic()
        if not gang.started and len(gang.running | gang.succeeded) == len(gang.pods):
            gang.started = True
            gang.started_at = time.monotonic()
            self.start_queue.put_nowait(self.gang_of[name])

    async def starter(self) -> None:
        """The gang runtime: work starts when every pod of the gang runs."""
        while True:
            gang = self.gangs[await self.start_queue.get()]
            notes = {"sim.lulea.io/outcome": "Succeeded", "sim.lulea.io/duration": f"{gang.seconds:.1f}s"}
            for pod in gang.pods:
                with contextlib.suppress(KubeError):
                    await self.kube.patch(
                        f"/api/v1/namespaces/{self.ns}/pods/{pod}", {"metadata": {"annotations": notes}}
                    )

    async def sample(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            state = self.nodes.copy()
            busy = held = stranded = 0
            queued = []  # submitted (every pod created) and not yet whole
            for g in self.gangs.values():
                if g.done_at:
                    continue
                live = [p for p in g.bound if p not in g.succeeded]
                gpus = len(live) * g.gpus_per_pod
                for p in live:
                    state.bind(p, BoundPod(self.node_of[p], g.gpus_per_pod, self.ns))
                held += gpus
                if len(g.bound) == len(g.pods):
                    busy += gpus
                    continue
                stranded += gpus
                if len(g.created) == len(g.pods):
                    queued.append(g.gang)
            self.samples.append(
                {
                    "busy": busy / self.total,
                    "held": held / self.total,
                    "stranded": stranded / self.total,
                    "fragmentation": fragmentation(state, queued),
                    "expected_fragmentation": expected_fragmentation(state, queued),
                    "workload_fragmentation": expected_fragmentation(state, self.workload),
                    "free": state.free_gpus() / self.total,
                }
            )

    def report(self, elapsed: float) -> dict[str, float]:
        n = max(len(self.samples), 1)
        span = (self.binds[-1] - self.binds[0]) if len(self.binds) > 1 else 0.0
        partial = sum(1 for g in self.gangs.values() if 0 < len(g.bound) < len(g.pods))
        keys = ("busy", "held", "stranded", "free")
        keys += ("fragmentation", "expected_fragmentation", "workload_fragmentation")
        avg = {k: sum(s[k] for s in self.samples) / n for k in keys}
        lags = [g.started_at - g.last_bind for g in self.gangs.values() if g.started_at and g.last_bind]
        return {
            "elapsed_s": elapsed,
            "pods_bound": len(self.binds),
            "pods_bound_per_s": len(self.binds) / span if span else 0.0,
            "jobs_completed": sum(1 for g in self.gangs.values() if g.done_at),
            "gangs_whole": sum(1 for g in self.gangs.values() if len(g.bound) == len(g.pods)),
            "gangs_started": sum(1 for g in self.gangs.values() if g.started),
            "start_lag_p50_s": _pct(lags, 0.5),
            "start_lag_p90_s": _pct(lags, 0.9),
            "pod_run_lag_p50_s": _pct(self.run_lags, 0.5),
            "pod_run_lag_p90_s": _pct(self.run_lags, 0.9),
            "gpus_free": avg["free"],
            "gpu_utilization": avg["busy"],
            "gpu_allocated": avg["held"],
            "stranded_share": avg["stranded"],
            "stranded_max": max((s["stranded"] for s in self.samples), default=0.0),
            "partial_gangs_at_end": partial,
            "fragmentation": avg["fragmentation"],
            "expected_fragmentation": avg["expected_fragmentation"],
            "workload_fragmentation": avg["workload_fragmentation"],
        }


def _node_ready(node: dict[str, Any]) -> bool:
    conds = (node.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)] if ordered else 0.0


CPU_OF = ("kube-apiserver", "etcd", "kwok", "kube-scheduler", "kube-controller-manager")


def cpu_seconds(state: Path, extra: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds so far of the stack's processes, the bench and `extra`."""
    pids = {"bench": os.getpid(), **extra}
    for name in CPU_OF:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pids[name] = int((state / "pids" / f"{name}.pid").read_text().split()[0])
    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[name] = t.user + t.system
    return out


def _loud(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        print(f"bench task failed: {task.exception()!r}", file=sys.stderr, flush=True)


async def bench(
    args: argparse.Namespace, only: tuple[str, ...] = ("kube-scheduler", "lulea-placement")
) -> dict[str, dict[str, float]]:
    kubeconfig = str(Path(args.reuse or STATE) / "kubeconfig")
    api = await connect(kubeconfig, pool=64)
    kube = Kube(api)
    deadline = time.monotonic() + 300
    while True:  # every node has its GPUs and kwok has made it Ready
        items, _ = await kube.list("/api/v1/nodes")
        ready = [n for n in items if node_from(n).gpus > 0 and _node_ready(n)]
        if len(ready) >= (1 if args.reuse else 1000) or time.monotonic() > deadline:
            break
        await asyncio.sleep(3)
    nodes = ClusterState(node_from(n) for n in ready)
    print(f"fleet: {len(nodes.nodes)} nodes, {nodes.total_gpus()} GPUs", flush=True)
    jobs = bench_trace.jobs(args.jobs, args.seed)
    pods = sum(int(j["spec"].get("hosts") or j["spec"]["gpus"]) for j in jobs)
    demand = sum(int(j["spec"]["gpus"]) for j in jobs)
    print(f"trace: {len(jobs)} jobs, {pods} pods, {demand} GPUs asked (seed {args.seed})", flush=True)
    results = {}
    for label, scheduler in (("kube-scheduler", "default-scheduler"), ("lulea-placement", "lulea-placement")):
        if label not in only:
            continue
        proc = None
        if scheduler == "lulea-placement":
            env = {
                **os.environ,
                "KUBECONFIG": kubeconfig,
                "LULEA_PLACEMENT_PORT": str(PLACEMENT_PORT),
                "LULEA_PLACEMENT_KUBE_EVENTS": "false",
                "LULEA_PLACEMENT_RESERVE_AFTER_SECONDS": "20",
                "LULEA_PLACEMENT_LOG_LEVEL": os.environ.get("BENCH_PLACEMENT_LOG_LEVEL", "WARNING"),
            }
            proc = subprocess.Popen(  # noqa: ASYNC220 (a background service, not awaited)
                [sys.executable, "-m", "lulea.placement"],
                env=env,
                stdout=Path("/tmp/lulea-bench-placement.log").open("wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ns = f"bench-{label}"
        state = Path(args.reuse or STATE)
        extra = {"placement": proc.pid} if proc else {}
        try:
            run = TraceRun(kube, ns, scheduler, jobs, nodes)
            before = cpu_seconds(state, extra)
            try:
                results[label] = await run.run(args.window)
            except Exception as err:
                print(f"{label}: run failed: {err!r}", flush=True)
                raise
            after = cpu_seconds(state, extra)
            elapsed = results[label]["elapsed_s"]
            for name in (*CPU_OF, "placement", "bench"):  # cores used on average during the run
                used = after.get(name, 0.0) - before.get(name, 0.0)
                results[label][f"cores_{name}"] = used / elapsed if elapsed else 0.0
            print(label, json.dumps({k: round(v, 4) for k, v in results[label].items()}), flush=True)
        finally:
            if proc is not None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            if args.reuse:  # a shared stack: take the trace's pods away (best effort)
                with contextlib.suppress(KubeError, TimeoutError, aiohttp.ClientError, OSError):
                    await kube.request("DELETE", f"/api/v1/namespaces/{ns}")
    await api.close()
    return results


def table(results: dict[str, dict[str, float]]) -> None:
    k, p = results["kube-scheduler"], results["lulea-placement"]
    print(f"\n{'metric':28} {'kube-scheduler':>15} {'lulea-placement':>16} {'ratio':>8}")
    for key in (
        "pods_bound_per_s",
        "jobs_completed",
        "gangs_whole",
        "gangs_started",
        "start_lag_p50_s",
        "start_lag_p90_s",
        "pod_run_lag_p50_s",
        "pod_run_lag_p90_s",
        "server_start_lag_p50_s",
        "server_start_lag_p90_s",
        "watch_relists",
        "gpu_utilization",
        "gpus_free",
        "gpu_allocated",
        "stranded_share",
        "stranded_max",
        "partial_gangs_at_end",
        "fragmentation",
        "expected_fragmentation",
        "workload_fragmentation",
        "elapsed_s",
        *(f"cores_{n}" for n in (*CPU_OF, "placement", "bench")),
    ):
        ratio = p[key] / k[key] if k[key] else float("nan")
        print(f"{key:28} {k[key]:15.3f} {p[key]:16.3f} {ratio:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--window", type=float, default=150.0, help="seconds per scheduler")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--reuse", help="state dir of a running stack to use as is (smoke runs)")
    args = parser.parse_args()
    if args.reuse:
        table(asyncio.run(bench(args)))
        return
    results: dict[str, dict[str, float]] = {}
    for label in ("kube-scheduler", "lulea-placement"):
        # each scheduler gets a fresh stack with the same empty fleet: no leftovers to clear
        shutil.rmtree(STATE, ignore_errors=True)
        STATE.mkdir(parents=True)
        fleet = STATE / "fleet.yaml"
        fleet.write_text(bench_trace.fleet_yaml())
        stack("up", fleet)
        try:
            results.update(asyncio.run(bench(args, only=(label,))))
        finally:
            if not args.keep or label != "lulea-placement":
                stack("down")
    table(results)


if __name__ == "__main__":
    main()
