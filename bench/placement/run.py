"""bench/placement: lulea-placement against kube-scheduler, kube-scheduler's own gang scheduling
and Kueue, on one kwok fleet, with the same seeded workload for every scheduler.

    uv run --no-sync python bench/placement/run.py            # 3 runs, every scheduler, both cases
    uv run --no-sync python bench/placement/run.py --quick    # 1 run, short windows (a smoke run)
    ... --schedulers kube-scheduler,lulea-placement --runs 3 --fleet-scale 0.2 --window 90

One stack (lulea-stack: control plane and kwok only, its own kube-scheduler skipped; port base
26000, state in /tmp/lulea-bench-placement) with the API server's alpha Workload API on. For each
run and each case the schedulers take turns (the order rotates from run to run), each in a fresh
namespace on an empty fleet, with only its own scheduler process running:

- `kube-scheduler`: the 1.36 kube-scheduler, `clientConnection.qps`/`burst` 500 (a
  KubeSchedulerConfiguration file), no gang support;
- `kube-gang`: the same binary and file with the alpha gates GangScheduling and GenericWorkload;
  each job gets a PodGroup (scheduling.k8s.io/v1alpha2, gang policy, minCount = its pods) and its
  pods point at it (spec.schedulingGroup);
- `kueue`: Kueue v0.17.0's manager (`dev/tools.sh kueue`) as a local process, all-or-nothing
  admission (waitForPodsReady), one ClusterQueue holding the fleet's GPUs, the pods labelled as
  its pod webhook would (pod groups); kube-scheduler (as in `kube-scheduler`) binds what it admits;
- `lulea-placement`: the platform's gang scheduler (Kubernetes Events on, as everyone else's).

Cases: `poisson` (jobs arrive over time: job completion time, queueing, utilization, partial
gangs, fragmentation, never-fit jobs) and `batch` (a fleet's worth of long jobs at t0: scheduling
latency per gang and throughput, the scheduler alone). The driver plays the gang runtime for all:
a job's work starts once every pod of it runs, so GPUs held by a partly placed gang do nothing.
Scheduling figures come from bind times, seen on the driver's watch; kwok's bind-to-Running lag
is measured apart and reported (it is the simulator's, not the scheduler's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import httpx
import metrics as m
import psutil
import workload as wl
from report import SCHEDULERS, markdown, table
from schedulers import (
    GATES,
    KUEUE_QUEUE,
    PORT_BASE,
    REPO,
    STATE,
    Procs,
    kueue_crds,
    kueue_setup,
    start_schedulers,
)

from lulea.core import gangs as c
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
from lulea.placement.kube.objects import node_from

CASES = ("poisson", "batch")
START = time.time()
APISERVER_ARGS = f"--feature-gates={GATES} --runtime-config=scheduling.k8s.io/v1alpha2=true"

# The bench measures the control plane, kwok and one scheduler at a time: the platform's other
# parts (and the stack's own kube-scheduler, which the bench replaces) only take CPU from them.
SKIP = ("kafka,ferretdb,operator-project,ca,schema-registry,placement,operator-gpujob,kube-scheduler,"
        "postgres,victorialogs,operator-topic,storage,operator-dataset,logs-collector,logs-indexer,"
        "logs-gateway,pod-runtime")


def stack(cmd: str, fleet: Path | None = None) -> None:  # our own stack, never the dev one
    argv = ["uv", "run", "--no-sync", "lulea-stack", cmd, "--state-dir", str(STATE)]
    argv += ["--port-base", str(PORT_BASE)]
    if fleet:
        argv += ["--fleet", str(fleet)]
    env = {**os.environ, "LULEA_SKIP": SKIP, "LULEA_KUBE_APISERVER_ARGS": APISERVER_ARGS}
    subprocess.run(argv, cwd=REPO, check=True, timeout=900, env=env)


# ---------------------------------------------------------------------------------------------
# One scheduler, one case, one run


@dataclass
class JobRun:
    job: wl.Job
    gang: Gang
    pods: list[dict[str, Any]]
    created: float | None = None  # every pod created (driver clock, seconds from t0)
    bound: dict[str, float] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    whole_at: float | None = None
    started: float | None = None
    done: float | None = None
    signal_at: float | None = None  # first PodScheduled=False seen
    signal_reason: str = ""


class Play:
    def __init__(self, kube: Kube, ns: str, label: str, jobs: list[wl.Job], nodes: ClusterState) -> None:
        self.kube, self.ns, self.label = kube, ns, label
        self.nodes, self.total = nodes, nodes.total_gpus()
        self.runs: dict[str, JobRun] = {}
        self.of_pod: dict[str, JobRun] = {}
        self.node_of: dict[str, str] = {}
        self.lags: list[float] = []  # bind seen -> Running seen, per pod (kwok's lag)
        self.samples: list[dict[str, float]] = []
        self.creates_late: list[float] = []
        self.starts: asyncio.Queue[JobRun] = asyncio.Queue()
        self.relists = 0
        scheduler = "lulea-placement" if label == "lulea-placement" else "default-scheduler"
        for job in jobs:
            pods = desired_pods(job.gpujob(ns), 1, PodEnvironment())
            gang_name = pods[0]["metadata"]["labels"][c.GANG]
            for p in pods:
                spec, meta = p["spec"], p["metadata"]
                spec["schedulerName"] = scheduler
                del meta["ownerReferences"]  # no GpuJob object: keep the GC away
                # kwok nodes on a loaded machine: leases lag now and then; every scheduler ignores it
                spec["tolerations"] = [{"operator": "Exists"}]
                # kwok plays the pods (until the starter says how they end), not the local runtime
                meta["annotations"]["sim.lulea.io/simulated"] = "true"
                if label == "kube-gang":
                    spec["schedulingGroup"] = {"podGroupName": gang_name}
                if label.startswith("kueue"):  # what Kueue's pod webhook would add (plain pods, groups)
                    meta["labels"].update({
                        "kueue.x-k8s.io/queue-name": KUEUE_QUEUE,
                        "kueue.x-k8s.io/managed": "true",
                        "kueue.x-k8s.io/pod-group-name": gang_name,
                    })
                    meta["annotations"].update({
                        "kueue.x-k8s.io/pod-group-total-count": str(len(pods)),
                        "kueue.x-k8s.io/role-hash": "main",
                    })
                    meta["finalizers"] = ["kueue.x-k8s.io/managed"]
                    spec["schedulingGates"] = [{"name": "kueue.x-k8s.io/admission"}]
                    if label == "kueue-tas":
                        meta["annotations"]["kueue.x-k8s.io/podset-preferred-topology"] = "lulea.io/rack"
                        spec["schedulingGates"].append({"name": "kueue.x-k8s.io/topology"})
            gang = Gang(
                id=gang_name, namespace=ns, project=ns, pods=tuple(p["metadata"]["name"] for p in pods),
                gpus_per_pod=job.gpus_per_pod, distinct_hosts=bool(job.hosts and job.hosts > 1),
                node_selector=dict(job.node_selector), group_by=job.group_by,
                tolerations=(Toleration("kwok.x-k8s.io/node", "Exists", "", "NoSchedule"),),
            )
            run = JobRun(job, gang, pods)
            self.runs[gang_name] = run
            for p in pods:
                self.of_pod[p["metadata"]["name"]] = run

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def play(
        self, window: float, prefill: Callable[[], Awaitable[None]] | None = None
    ) -> dict[str, Any]:
        """Play the jobs for `window` seconds. With `prefill`, every pod is created first and
        `prefill` then starts the scheduler: the window (and scheduling latency) counts from then,
        with the whole queue waiting: the scheduler's own throughput."""
        body = {"metadata": {"name": self.ns, "labels": {"bench.lulea.io/kueue": "true"}}}
        await self.kube.request("POST", "/api/v1/namespaces", body=body)
        if self.label.startswith("kueue"):
            await kueue_setup(self.kube, self.ns, self.total, tas=self.label == "kueue-tas")
        _, version = await self.kube.list(f"/api/v1/namespaces/{self.ns}/pods")
        self.t0 = time.monotonic()
        self.t_sched = 0.0
        tasks = [asyncio.create_task(self.watch(version))]
        if prefill:
            await self.create()
            await prefill()
            self.t_sched = self.now()
        else:
            tasks.append(asyncio.create_task(self.create()))
        tasks.append(asyncio.create_task(self.sample()))
        tasks += [asyncio.create_task(self.starter()) for _ in range(16)]
        for t in tasks:
            t.add_done_callback(_loud)
        try:
            while self.now() < self.t_sched + window:  # the same window for everyone: no early end
                await asyncio.sleep(0.5)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self.report(window)

    async def create(self) -> None:
        slots = asyncio.Semaphore(24)
        base = f"/api/v1/namespaces/{self.ns}/pods"

        async def one(run: JobRun) -> None:
            delay = run.job.arrival - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            async with slots:
                self.creates_late.append(max(0.0, self.now() - run.job.arrival))
                if self.label == "kube-gang":
                    group = {
                        "apiVersion": "scheduling.k8s.io/v1alpha2", "kind": "PodGroup",
                        "metadata": {"name": run.gang.id, "namespace": self.ns},
                        "spec": {"schedulingPolicy": {"gang": {"minCount": len(run.pods)}}},
                    }
                    await self.kube.request(
                        "POST", f"/apis/scheduling.k8s.io/v1alpha2/namespaces/{self.ns}/podgroups", body=group
                    )
                await asyncio.gather(*(self.kube.request("POST", base, body=p) for p in run.pods))
                run.created = self.now()

        await asyncio.gather(*(one(r) for r in self.runs.values()))

    async def watch(self, version: str) -> None:
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
                print(f"{self.label}: pod watch ended ({err}); listing again", flush=True)
                items, version = await self.kube.list(path)
                for obj in items:
                    self.seen(obj)

    def seen(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        run = self.of_pod.get(name)
        if run is None:
            return
        now = self.now()
        node = obj["spec"].get("nodeName")
        status = obj.get("status") or {}
        phase = status.get("phase")
        if node and name not in run.bound:
            run.bound[name] = now
            self.node_of[name] = node
            if len(run.bound) == len(run.pods):
                run.whole_at = now
        if not node and run.signal_at is None:
            for cond in status.get("conditions") or ():
                if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                    run.signal_at, run.signal_reason = now, str(cond.get("reason") or "")
        if phase == "Running" and name not in run.running:
            run.running.add(name)
            if name in run.bound:
                self.lags.append(now - run.bound[name])
        if phase == "Succeeded":
            run.succeeded.add(name)
            if len(run.succeeded) == len(run.pods) and run.done is None:
                run.done = now
        if run.started is None and len(run.running | run.succeeded) == len(run.pods):
            run.started = now
            self.starts.put_nowait(run)

    async def starter(self) -> None:
        """The gang runtime: work starts when every pod of the gang runs."""
        while True:
            run = await self.starts.get()
            notes = {"sim.lulea.io/outcome": "Succeeded", "sim.lulea.io/duration": f"{run.job.seconds:.1f}s"}
            for pod in run.gang.pods:
                with contextlib.suppress(KubeError):
                    await self.kube.patch(
                        f"/api/v1/namespaces/{self.ns}/pods/{pod}", {"metadata": {"annotations": notes}}
                    )

    async def sample(self) -> None:
        workload = [r.gang for r in self.runs.values() if not r.job.never_fits]
        while True:
            await asyncio.sleep(1.0)
            state = self.nodes.copy()
            held = stranded = 0
            partial = 0
            queued = []  # submitted (every pod created), fits the fleet, not yet whole
            for r in self.runs.values():
                if r.done is not None:
                    continue
                live = [p for p in r.bound if p not in r.succeeded]
                for p in live:
                    state.bind(p, BoundPod(self.node_of[p], r.job.gpus_per_pod, self.ns))
                gpus = len(live) * r.job.gpus_per_pod
                held += gpus
                if r.whole_at is None:
                    if r.bound:
                        stranded += gpus
                        partial += 1
                    if r.created is not None and not r.job.never_fits:
                        queued.append(r.gang)
            self.samples.append({
                "held": held / self.total,
                "stranded": stranded / self.total,
                "partial": float(partial),
                "fragmentation": fragmentation(state, queued),
                "expected_fragmentation": expected_fragmentation(state, queued),
                "workload_fragmentation": expected_fragmentation(state, workload),
            })

    def report(self, window: float) -> dict[str, Any]:
        runs = [r for r in self.runs.values() if not r.job.never_fits]
        never = [r for r in self.runs.values() if r.job.never_fits]
        created = [r for r in runs if r.created is not None]
        n = max(len(self.samples), 1)
        avg = {k: sum(s[k] for s in self.samples) / n for k in self.samples[0]} if self.samples else {}
        binds = sorted(t for r in runs for t in r.bound.values())
        whole = [r for r in created if r.whole_at is not None]
        # scheduling latency per gang: all its pods created -> all bound (bind times, not kwok)
        sched = [r.whole_at - max(r.created, self.t_sched) for r in whole
                 if r.whole_at is not None and r.created is not None]
        # queueing delay: arrival -> work starts (every pod running); JCT: arrival -> done
        queue = [r.started - r.job.arrival for r in runs if r.started is not None]
        jct = [r.done - r.job.arrival for r in runs if r.done is not None]
        waiting = [window - r.job.arrival for r in created if r.started is None]
        span = binds[-1] - binds[0] if len(binds) > 1 else 0.0
        out: dict[str, Any] = {
            "jobs_submitted": len(created),
            "jobs_completed": sum(1 for r in runs if r.done is not None),
            "gangs_whole": len(whole),
            "gangs_started": sum(1 for r in runs if r.started is not None),
            "jobs_never_started": len(waiting),
            "jct_p50_s": m.pct(jct, 0.5),
            "jct_p99_s": m.pct(jct, 0.99),
            "queue_p50_s": m.pct(queue, 0.5),
            "queue_p99_s": m.pct(queue, 0.99),
            "waiting_at_end_p50_s": m.pct(waiting, 0.5),
            "sched_latency_p50_s": m.pct(sched, 0.5),
            "sched_latency_p99_s": m.pct(sched, 0.99),
            "pods_bound": len(binds),
            "pods_bound_per_s": len(binds) / span if span else None,
            "gangs_whole_per_s": (
                len(whole) / (max(r.whole_at or 0.0 for r in whole) - self.t_sched) if whole else None
            ),
            "kwok_lag_p50_s": m.pct(self.lags, 0.5),
            "kwok_lag_p99_s": m.pct(self.lags, 0.99),
            "create_late_p99_s": m.pct(self.creates_late, 0.99),
            "gpu_utilization": m.utilization(
                ((r.started, r.done, r.job.gpus) for r in runs), window=window, gpus=self.total
            ),
            "gpu_allocated": avg.get("held"),
            "stranded_share": avg.get("stranded"),
            "stranded_max": max((s["stranded"] for s in self.samples), default=0.0),
            "partial_gangs_at_end": sum(1 for r in runs if r.bound and r.whole_at is None and r.done is None),
            "partial_gangs_max": max((s["partial"] for s in self.samples), default=0.0),
            "fragmentation": avg.get("fragmentation"),
            "expected_fragmentation": avg.get("expected_fragmentation"),
            "workload_fragmentation": avg.get("workload_fragmentation"),
            "never_fit_jobs": len(never),
            "never_fit_signalled": sum(1 for r in never if r.signal_at is not None),
            "never_fit_verdicts": sum(1 for r in never if r.signal_reason == c.NEVER_FITS),
            "never_fit_signal_p50_s": m.pct(
                [r.signal_at - r.created for r in never if r.signal_at is not None and r.created is not None],
                0.5,
            ),
            "never_fit_bound_pods": sum(len(r.bound) for r in never),
            "fit_jobs_called_never_fit": sum(1 for r in runs if r.signal_reason == c.NEVER_FITS),
            "watch_relists": self.relists,
        }
        return out


def _loud(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        print(f"bench task failed: {task.exception()!r}", file=sys.stderr, flush=True)


CPU_OF = ("kube-apiserver", "etcd", "kwok", "kube-controller-manager")


def cpu_seconds(extra: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds so far (psutil reads /proc/<pid>/stat) of the stack's processes,
    the schedulers this bench started and the bench itself."""
    pids = {"bench": os.getpid(), **extra}
    for name in CPU_OF:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pids[name] = int((STATE / "pids" / f"{name}.pid").read_text().split()[0])
    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[name] = t.user + t.system
    return out


async def wait_ready(kube: Kube, label: str) -> None:
    """The scheduler's process answers before the trace starts (and its informers synced)."""
    url = (f"http://127.0.0.1:{PORT_BASE + 22}/readyz" if label == "lulea-placement"
           else f"https://127.0.0.1:{PORT_BASE + 4}/healthz")
    async with httpx.AsyncClient(verify=False) as http:
        for _ in range(360):  # Python's start alone took over a minute at load 30
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url, timeout=2)).status_code == 200:
                    break
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError(f"{label}: {url} never answered 200")
    await asyncio.sleep(2)
    if label.startswith("kueue"):
        for _ in range(60):
            try:
                await kube.list("/apis/kueue.x-k8s.io/v1beta2/clusterqueues")
                break
            except KubeError:
                await asyncio.sleep(1)
        await asyncio.sleep(3)


async def clean(kube: Kube, ns: str) -> None:
    """Take the namespace's pods away at once (no kwok in the way) and wait until the namespace
    itself is gone, so the next scheduler starts on an empty fleet and an idle API server. Runs
    after the turn's scheduler stopped: a running Kueue puts its finalizer back on its pods,
    and pods left terminating with a finalizer are retried by the PodGC for ever (in an earlier
    run of this bench that load, not any scheduler, decided every later turn)."""
    with contextlib.suppress(KubeError, TimeoutError, OSError):
        await kube.request("DELETE", f"/api/v1/namespaces/{ns}/pods", query={"gracePeriodSeconds": "0"})
    with contextlib.suppress(KubeError, TimeoutError, OSError):
        await kube.request("DELETE", f"/api/v1/namespaces/{ns}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            items, _ = await kube.list(f"/api/v1/namespaces/{ns}/pods")
            await kube.request("GET", f"/api/v1/namespaces/{ns}")
        except KubeError as err:
            if err.status == 404:
                return
            await asyncio.sleep(2)
            continue
        except (TimeoutError, OSError):  # a slow API server is not an empty namespace
            await asyncio.sleep(2)
            continue
        if any(not p["metadata"].get("deletionTimestamp") for p in items):  # first DELETE failed
            with contextlib.suppress(KubeError, TimeoutError, OSError):
                await kube.request("DELETE", f"/api/v1/namespaces/{ns}/pods",
                                   query={"gracePeriodSeconds": "0"})
        for pod in items:  # Kueue's or anyone's finalizers: not ours to wait for
            if pod["metadata"].get("finalizers"):
                with contextlib.suppress(KubeError, TimeoutError, OSError):
                    await kube.patch(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}",
                                     {"metadata": {"finalizers": None}})
        await _drop_podgroup_finalizers(kube, ns)
        await asyncio.sleep(2)
    print(f"warning: {ns} still there after 300 s", flush=True)


async def _drop_podgroup_finalizers(kube: Kube, ns: str) -> None:
    """kube-gang's PodGroups carry `scheduling.k8s.io/podgroup-protection`, which a controller
    behind the same alpha gates removes; the stack's controller-manager runs without them, so
    every PodGroup would keep the namespace Terminating (300 s per kube-gang turn in the run of
    2026-12-02, before this)."""
    with contextlib.suppress(KubeError, TimeoutError, OSError):
        groups, _ = await kube.list(f"/apis/scheduling.k8s.io/v1alpha2/namespaces/{ns}/podgroups")
        for g in groups:
            if g["metadata"].get("finalizers"):
                with contextlib.suppress(KubeError, TimeoutError, OSError):
                    await kube.patch(f"/apis/scheduling.k8s.io/v1alpha2/namespaces/{ns}/podgroups/"
                                     f"{g['metadata']['name']}", {"metadata": {"finalizers": None}})


async def leftovers(kube: Kube) -> int:
    """Pods of this invocation's earlier turns still in the API server (should be none)."""
    items, _ = await kube.list("/api/v1/pods")
    prefix = f"b{int(START) % 100000}-"
    return sum(1 for p in items if p["metadata"]["namespace"].startswith(prefix))


async def one(kube: Kube, args: argparse.Namespace, label: str, case: str, run_no: int,
              jobs: list[wl.Job], nodes: ClusterState) -> dict[str, Any]:
    # unique per invocation: an earlier run's namespace may still be terminating
    ns = f"b{int(START) % 100000}-{case}-{label}-{run_no}".replace("lulea-placement", "placement")
    procs = Procs()
    try:
        window = args.window if case == "poisson" else args.batch_window
        play = Play(kube, ns, label, jobs, nodes)
        leftover = await leftovers(kube)
        load_before = os.getloadavg()
        before: dict[str, float] = {}

        async def start() -> None:
            nonlocal before
            if label.startswith("kueue"):
                await kueue_crds(kube)
            start_schedulers(procs, label, args.timeout)
            await wait_ready(kube, label)
            if dead := [n for n in procs.procs if n not in procs.alive()]:
                raise RuntimeError(f"{label}: {dead} exited at start; see {STATE / 'logs'}")
            before = cpu_seconds(procs.pids())

        if case == "poisson":
            await start()
            result = await play.play(window)
        else:
            result = await play.play(window, prefill=start)
        after = cpu_seconds(procs.pids())
        for name in (*CPU_OF, *procs.pids(), "bench"):  # cores used on average over the window
            result[f"cores_{name}"] = (after.get(name, 0.0) - before.get(name, 0.0)) / window
        result["load_1m_before"], result["load_1m_after"] = load_before[0], os.getloadavg()[0]
        result["leftover_pods_at_start"] = leftover
        if dead := [n for n in procs.procs if n not in procs.alive()]:
            result["error"] = f"{dead} exited during the run"
        return result
    finally:
        procs.stop()  # first: a live Kueue would put its finalizers back
        with contextlib.suppress(Exception):
            await clean(kube, ns)


async def bench(args: argparse.Namespace) -> dict[str, dict[str, list[dict[str, Any]]]]:
    api = await connect(str(STATE / "kubeconfig"), pool=64)
    kube = Kube(api)
    want = wl.fleet_nodes(args.fleet_scale)
    deadline = time.monotonic() + 600
    while True:  # every node has its GPUs and kwok has made it Ready
        items, _ = await kube.list("/api/v1/nodes")
        ready = [n for n in items if node_from(n).gpus > 0 and _node_ready(n)]
        if len(ready) >= want or time.monotonic() > deadline:
            break
        await asyncio.sleep(3)
    nodes = ClusterState(node_from(n) for n in ready)
    print(f"fleet: {len(nodes.nodes)} nodes, {nodes.total_gpus()} GPUs", flush=True)
    workloads = {
        "poisson": wl.philly_jobs(args.seed, fleet_scale=args.fleet_scale, load=args.load,
                                  minute_seconds=args.minute_seconds, arrival_seconds=args.arrival_seconds,
                                  gpus_per_pod=args.gpus_per_pod),
        "batch": wl.philly_jobs(args.seed, fleet_scale=args.fleet_scale, load=args.load,
                                minute_seconds=args.minute_seconds, arrival_seconds=0,
                                gpus_per_pod=args.gpus_per_pod, batch=True, batch_fill=args.batch_fill),
    }
    for case, jobs in workloads.items():
        shape = {k: round(v, 1) for k, v in wl.summary(jobs).items()}
        print(f"workload {case}: {json.dumps(shape)}", flush=True)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    labels = list(args.schedulers)
    for run_no in range(1, args.runs + 1):
        order = labels[(run_no - 1) % len(labels):] + labels[: (run_no - 1) % len(labels)]
        for case in args.cases:
            for label in order:
                print(f"run {run_no} {case} {label} ...", flush=True)
                try:
                    r = await one(kube, args, label, case, run_no, workloads[case], nodes)
                except Exception as err:  # one scheduler failing must not hide the others
                    print(f"run {run_no} {case} {label}: failed: {err!r}", flush=True)
                    r = {"error": repr(err)}
                results.setdefault(case, {}).setdefault(label, []).append(r)
                print(f"run {run_no} {case} {label}: {json.dumps(_round(r))}", flush=True)
                (STATE / "results.json").write_text(json.dumps(results, indent=1))
    await api.close()
    return results


def _round(r: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}


def _node_ready(node: dict[str, Any]) -> bool:
    conds = (node.get("status") or {}).get("conditions") or ()
    return any(x.get("type") == "Ready" and x.get("status") == "True" for x in conds)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--schedulers", default=",".join(SCHEDULERS))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--fleet-scale", type=float, default=0.2, help="share of the 1,000-node fleet")
    p.add_argument("--load", type=float, default=0.9, help="offered GPU load of the Poisson case")
    p.add_argument("--minute-seconds", type=float, default=0.05, help="bench seconds per trace minute")
    p.add_argument("--arrival-seconds", type=float, default=60.0, help="Poisson arrivals for this long")
    p.add_argument("--window", type=float, default=90.0, help="Poisson case: seconds per scheduler")
    p.add_argument("--batch-window", type=float, default=40.0, help="batch case: seconds per scheduler")
    p.add_argument("--batch-fill", type=float, default=0.9, help="batch: GPUs asked / fleet GPUs")
    p.add_argument("--gpus-per-pod", type=int, default=1, help="largest pod of a job (1: a pod per GPU)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="Kueue waitForPodsReady timeout (300: the gang plugin's fixed Permit timeout)")
    p.add_argument("--quick", action="store_true", help="1 run, 30 s arrivals, 45 s / 25 s windows")
    p.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    p.add_argument("--reuse", action="store_true", help="use the bench's stack if it already runs")
    p.add_argument("--markdown", help="print the tables of a saved results.json as markdown, run nothing")
    args = p.parse_args()
    if args.markdown:
        saved = json.loads(Path(args.markdown).read_text())
        table(saved)
        markdown(saved)
        return
    args.schedulers = [x for x in args.schedulers.split(",") if x]
    args.cases = [x for x in args.cases.split(",") if x]
    if bad := [x for x in args.schedulers if x not in SCHEDULERS] + [x for x in args.cases if x not in CASES]:
        p.error(f"unknown: {bad}")
    if args.quick:
        args.runs, args.arrival_seconds, args.window, args.batch_window = 1, 30.0, 45.0, 25.0
    up = args.reuse and (STATE / "kubeconfig").exists()
    if not up:
        shutil.rmtree(STATE, ignore_errors=True)
        (STATE / "logs").mkdir(parents=True)
        fleet = STATE / "fleet.yaml"
        fleet.write_text(wl.fleet_yaml(args.fleet_scale))
        stack("up", fleet)
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()} (a shared 2-core machine: other work runs too)")
    try:
        results = asyncio.run(bench(args))
    finally:
        if not args.keep:
            stack("down")
    table(results)
    print(f"\nraw results: {STATE / 'results.json'}")


if __name__ == "__main__":
    main()
