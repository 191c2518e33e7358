"""How fast Projects become tenants, next to the same objects created directly, in the same run.

    uv run --no-sync python bench/projects/run.py [--projects 300] [--rounds 3] [--concurrency 32]

On its own stack (ports 28200+, state /tmp/lulea-bench-projects; the Project operator and the CA
it takes its certificate from; the CA is stopped once the operator runs, so that issuing 3
certificates per Project does not share the machine with what is measured), per round, through
one kubernetes_asyncio client with `--concurrency` requests in flight:
  namespaces    N bare Namespace creates (the old reference)
  same objects  per project what the operator writes for one: the Namespace, then its
                ClusterRole, then the 2 member RoleBindings, the CA's RoleBinding, its
                ClusterRoleBinding, the NetworkPolicy and the ResourceQuota, created directly
                (POST), `--concurrency` projects at a time: the ceiling (admin token: a
                superuser, whom RBAC neither authorizes nor checks for escalation); then by
                server-side apply; then by POST with the operator's own token (RBAC on, as for
                the operator)
  projects      N Projects with 3 members each, timed by a watch until every one is Ready for its
                generation (first and last Ready)
After each phase everything it made is deleted and waited for (`--accumulate` keeps it all, as
before 2026-12-03: every later phase then runs with the earlier ones' per-project
ClusterRoleBindings in place, which RBAC walks on every request).
Also per round: the operator's CPU seconds (/proc/<pid>/stat) and the kube-apiserver's, and the
operator's API calls per Project counted from the API server's audit log.
Prints min/median/max over rounds and the ratio of Projects/s to the same-objects ceiling
(target >= 0.50), with the load average, and every other platform component's API calls per
Project in the same window (what the Projects' writes set off elsewhere).

    ... --pprof DIR    also a CPU profile of the kube-apiserver (its /debug/pprof, turned on for
                       the bench's own stack) over each round's same-objects and Projects phases,
                       saved in DIR and summed up with `go tool pprof -top`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.exceptions import ApiException

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench._common import loadavg, spread
from lulea.core.crds.project import Project
from lulea.devstack import accounts, stack
from lulea.devstack.components import audit_log
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths
from lulea.operators.project import plan

STATE = Path("/tmp/lulea-bench-projects")
PORT_BASE = 28200
MEMBERS = [{"user": "alice", "role": "DataOwner"}, {"user": "bob", "role": "DataScientist"},
           {"user": "carol", "role": "DataScientist"}]
MEMBER_PORTS = (PORT_BASE + 8, PORT_BASE + 20)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def api_client(s: Stack, concurrency: int, token: str | None = None) -> k8s.ApiClient:
    cfg = k8s.Configuration(host=s.api_server)
    cfg.ssl_ca_cert = str(s.ca_file)
    cfg.api_key = {"BearerToken": token or s.tokens["admin"]}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    cfg.connection_pool_maxsize = concurrency * 2
    return k8s.ApiClient(cfg)


def cpu_seconds(layout: Layout, name: str) -> float:
    managed = stack.running(layout, name)
    if managed is None:
        return float("nan")
    fields = Path(f"/proc/{managed.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


async def bounded(concurrency: int, calls: list[Any]) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one(call: Any) -> None:
        async with limit:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


def project_body(name: str) -> dict[str, Any]:
    return {"apiVersion": "lulea.io/v1alpha1", "kind": "Project", "metadata": {"name": name},
            "spec": {"members": MEMBERS, "quotas": {"gpus": 8}}}


async def same_objects(api: k8s.ApiClient, name: str, apply: bool = False) -> None:
    """What the operator writes for one Project, created directly (no Project, no operator):
    POST, or with `apply` server-side apply as the operator's Cluster.apply sends it."""
    project = Project.model_validate({**project_body(name), "metadata": {
        "name": name, "uid": "00000000-0000-0000-0000-000000000000", "generation": 1}})

    async def post(manifest: dict[str, Any]) -> None:
        from lulea.operators.project.cluster import _path

        meta = manifest["metadata"]
        body = json.loads(json.dumps(manifest))
        body["metadata"].pop("ownerReferences", None)  # no Project to own them here
        if apply:
            await api.call_api(_path(manifest["kind"], meta["name"], meta.get("namespace")), "PATCH",
                               body=body, query_params=[("fieldManager", "bench"), ("force", "true")],
                               header_params={"Content-Type": "application/apply-patch+yaml"},
                               auth_settings=["BearerToken"], _return_http_data_only=True)
            return
        await api.call_api(_path(manifest["kind"], None, meta.get("namespace")), "POST", body=body,
                           header_params={"Content-Type": "application/json"},
                           auth_settings=["BearerToken"], _return_http_data_only=True)

    await post(plan.namespace(project))
    rbac = plan.cluster_rbac(project)
    await asyncio.gather(*(post(m) for m in rbac if m["kind"] == "ClusterRole"))
    quota = plan.resource_quota(project)
    assert quota is not None
    await asyncio.gather(*(post(m) for m in [
        *plan.role_bindings(project), *plan.platform_bindings(project),
        *(m for m in rbac if m["kind"] != "ClusterRole"),
        *plan.network_policies(project, MEMBER_PORTS), quota]))


async def profile(s: Stack, seconds: int, out: Path) -> Path | None:
    """A CPU profile of the kube-apiserver over the next `seconds` (its /debug/pprof/profile)."""
    import httpx

    async with httpx.AsyncClient(verify=str(s.ca_file), timeout=seconds + 60,
                                 headers={"Authorization": f"Bearer {s.tokens['admin']}"}) as http:
        got = await http.get(f"{s.api_server}/debug/pprof/profile", params={"seconds": seconds})
    if got.status_code != 200:
        print(f"  no profile: {got.status_code} {got.text[:200]}")
        return None
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(out.write_bytes, got.content)
    return out


def summarize(path: Path | None, lines: int = 25) -> None:
    go = shutil.which("go")
    if path is None or go is None:
        return
    import subprocess

    top = subprocess.run([go, "tool", "pprof", "-top", "-cum", f"-nodecount={lines}", str(path)],
                         capture_output=True, text=True, timeout=120)
    print(f"  {path} (go tool pprof -top -cum):")
    for line in top.stdout.splitlines():
        print(f"    {line}")


def ready(p: dict[str, Any]) -> bool:
    st = p.get("status") or {}
    return st.get("observedGeneration") == p["metadata"]["generation"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])


async def projects_via_watch(api: k8s.ApiClient, prefix: str, n: int, concurrency: int,
                             timeout: float) -> tuple[float, float, float, int]:
    """(submitted after, first Ready after, all Ready after, count Ready), seconds from t0."""
    custom = k8s.CustomObjectsApi(api)
    listed = await custom.list_cluster_custom_object("lulea.io", "v1alpha1", "projects")
    rv = listed["metadata"]["resourceVersion"]
    done: set[str] = set()
    first: float | None = None
    all_ready = asyncio.Event()
    t0 = time.monotonic()

    def seen(obj: dict[str, Any]) -> None:
        nonlocal first
        name = obj["metadata"]["name"]
        if name.startswith(prefix) and ready(obj) and name not in done:
            done.add(name)
            first = first or time.monotonic() - t0
            if len(done) == n:
                all_ready.set()

    async def watching() -> None:
        nonlocal rv
        resumed = False
        while not all_ready.is_set():
            if resumed:  # a watch that ended may have missed events (a run waited 15 min for 300
                # Projects that were all Ready):
                # list, and count what became Ready meanwhile
                listed = await custom.list_cluster_custom_object("lulea.io", "v1alpha1", "projects")
                for obj in listed["items"]:
                    seen(obj)
                rv = listed["metadata"]["resourceVersion"]
                if all_ready.is_set():
                    return
            resumed = True
            w = watch.Watch()
            try:
                async for ev in w.stream(custom.list_cluster_custom_object, "lulea.io", "v1alpha1",
                                         "projects", resource_version=rv, timeout_seconds=15,
                                         allow_watch_bookmarks=True):
                    obj = ev["object"]
                    rv = obj["metadata"]["resourceVersion"]
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        seen(obj)
                        if all_ready.is_set():
                            return
            except ApiException as e:
                if e.status != 410:  # too old to resume: the list above
                    raise
            finally:
                await w.close()

    watcher = asyncio.create_task(watching())
    await asyncio.sleep(0.2)
    await bounded(concurrency, [lambda i=i: custom.create_cluster_custom_object(
        "lulea.io", "v1alpha1", "projects", project_body(f"{prefix}{i:04d}")) for i in range(n)])
    submitted = time.monotonic() - t0
    try:
        await asyncio.wait_for(all_ready.wait(), timeout)
    except TimeoutError:
        print(f"  gave up after {timeout:.0f}s with {len(done)}/{n} Ready")
    watcher.cancel()
    return submitted, first or 0.0, time.monotonic() - t0, len(done)


async def clean(api: k8s.ApiClient, prefix: str, concurrency: int, timeout: float = 900) -> float:
    """Everything a phase made under names starting with `prefix` deleted, and waited for until
    gone: its Projects (the operator takes their namespaces and cluster RBAC away), namespaces,
    and per-project ClusterRoles and ClusterRoleBindings. So every phase and round starts from
    the same cluster: RBAC walks every ClusterRoleBinding, and a phase left behind would weigh on
    the next one (docs/benchmarks.md). Returns the seconds it took."""
    t0 = time.monotonic()
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    rbac = k8s.RbacAuthorizationV1Api(api)

    async def gone(call: Any) -> None:
        try:
            await call
        except ApiException as e:
            if e.status != 404:
                raise

    def mine(name: str) -> bool:
        return name.startswith(prefix)

    async def left() -> tuple[list[str], list[str], list[str], list[str]]:
        projects = await custom.list_cluster_custom_object("lulea.io", "v1alpha1", "projects")
        namespaces = await core.list_namespace()
        bindings = await rbac.list_cluster_role_binding(label_selector=plan.PROJECT_LABEL)
        roles = await rbac.list_cluster_role(label_selector=plan.PROJECT_LABEL)
        return ([p["metadata"]["name"] for p in projects["items"] if mine(p["metadata"]["name"])],
                [n.metadata.name for n in namespaces.items if mine(n.metadata.name)],
                [b.metadata.name for b in bindings.items if mine(b.metadata.labels[plan.PROJECT_LABEL])],
                [r.metadata.name for r in roles.items if mine(r.metadata.labels[plan.PROJECT_LABEL])])

    projects, namespaces, bindings, roles = await left()
    await bounded(concurrency, [
        *(lambda n=n: gone(custom.delete_cluster_custom_object("lulea.io", "v1alpha1", "projects", n))
          for n in projects),
        *(lambda n=n: gone(core.delete_namespace(n)) for n in namespaces),
        *(lambda n=n: gone(rbac.delete_cluster_role_binding(n)) for n in bindings),
        *(lambda n=n: gone(rbac.delete_cluster_role(n)) for n in roles)])
    while any(await left()):
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"objects of {prefix}* still there after {timeout:.0f}s: "
                               f"{[len(x) for x in await left()]} projects/namespaces/bindings/roles")
        await asyncio.sleep(2)
    return time.monotonic() - t0


def audit_calls(path: Path, offset: int) -> Counter[tuple[str, str]]:
    """The requests made since byte `offset` of the audit log, by caller and by verb and
    resource, in one pass."""
    counts: Counter[tuple[str, str]] = Counter()
    with path.open("rb") as f:
        f.seek(offset)
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("stage") != "ResponseComplete":
                continue
            ref = ev.get("objectRef") or {}
            resource = ref.get("resource", "?") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            counts[(ev.get("user", {}).get("username", "?"), f"{ev['verb']} {resource}")] += 1
    return counts


async def sets_per_second(layout: Layout, concurrency: int, n: int,
                          make: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """`make(i)` for i < n, `concurrency` at a time: (sets per second, kube-apiserver CPU ms per
    set), both over the phase alone."""
    api0 = cpu_seconds(layout, "kube-apiserver")
    t0 = time.monotonic()
    await bounded(concurrency, [lambda i=i: make(i) for i in range(n)])
    rate = n / (time.monotonic() - t0)
    return rate, (cpu_seconds(layout, "kube-apiserver") - api0) / n * 1000


async def measure(layout: Layout, s: Stack, n: int, rounds: int, concurrency: int,
                  pprof: Path | None = None, accumulate: bool = False) -> None:
    api = api_client(s, concurrency)
    # the operator's own identity: not a superuser, so RBAC authorizes each of its requests and
    # checks each role and binding it creates for escalation, as it does for the operator
    as_operator = api_client(s, concurrency, (s.state_dir / "components" / "operator-project" / "token")
                             .read_text().strip())
    core = k8s.CoreV1Api(api)
    account = f"system:serviceaccount:{accounts.PLATFORM_NAMESPACE}:lulea-operator-project"
    results: dict[str, list[float]] = {k: [] for k in (
        "namespaces", "same objects", "same objects, applied", "same objects, as the operator",
        "projects", "first ready", "operator cpu ms",
        "apiserver cpu ms (projects)", "apiserver cpu ms (same objects)",
        "apiserver cpu ms (same objects, as the operator)", "calls")}
    breakdown: Counter[str] = Counter()
    others: Counter[str] = Counter()  # the other platform components' calls in the Projects phase
    load_before = loadavg()
    cleaning: list[float] = []

    async def phase_done(prefix: str) -> None:
        if not accumulate:
            cleaning.append(await clean(api, prefix, concurrency))

    for r in range(rounds):
        tag = f"r{r}"
        rate, _ = await sets_per_second(layout, concurrency, n, lambda i, tag=tag: core.create_namespace(
            k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=f"bare-{tag}-{i:04d}"))))
        results["namespaces"].append(rate)
        await phase_done(f"bare-{tag}-")

        profiled = (asyncio.create_task(profile(s, max(3, n // 40), pprof / f"same-objects-{tag}.pb.gz"))
                    if pprof else None)
        rate, cpu = await sets_per_second(layout, concurrency, n,
                                          lambda i, tag=tag: same_objects(api, f"direct-{tag}-{i:04d}"))
        results["same objects"].append(rate)
        results["apiserver cpu ms (same objects)"].append(cpu)
        if profiled:
            summarize(await profiled)
        await phase_done(f"direct-{tag}-")

        rate, _ = await sets_per_second(layout, concurrency, n, lambda i, tag=tag: same_objects(
            api, f"applied-{tag}-{i:04d}", True))
        results["same objects, applied"].append(rate)
        await phase_done(f"applied-{tag}-")

        rate, cpu = await sets_per_second(layout, concurrency, n, lambda i, tag=tag: same_objects(
            as_operator, f"operator-{tag}-{i:04d}"))
        results["same objects, as the operator"].append(rate)
        results["apiserver cpu ms (same objects, as the operator)"].append(cpu)
        await phase_done(f"operator-{tag}-")

        await asyncio.sleep(2)
        offset = audit_log(layout).stat().st_size
        profiled = (asyncio.create_task(profile(s, max(5, n // 12), pprof / f"projects-{tag}.pb.gz"))
                    if pprof else None)
        op0, api0 = cpu_seconds(layout, "operator-project"), cpu_seconds(layout, "kube-apiserver")
        submitted, first, all_ready, count = await projects_via_watch(
            api, f"bench-{tag}-", n, concurrency, timeout=900)
        results["projects"].append(count / all_ready)
        results["first ready"].append(first)
        results["operator cpu ms"].append((cpu_seconds(layout, "operator-project") - op0) / n * 1000)
        results["apiserver cpu ms (projects)"].append(
            (cpu_seconds(layout, "kube-apiserver") - api0) / n * 1000)
        await asyncio.sleep(3)  # the last status patches reach the log
        everyone = audit_calls(audit_log(layout), offset)
        calls = Counter({call: c for (user, call), c in everyone.items() if user == account})
        results["calls"].append(sum(calls.values()) / n)
        breakdown += calls
        others += Counter({f"{user.rsplit(':', 1)[-1]} {call}": c for (user, call), c in everyone.items()
                           if user != account})
        if profiled:
            summarize(await profiled)
        await phase_done(f"bench-{tag}-")
        print(f"round {r + 1}: namespaces {results['namespaces'][-1]:.1f}/s, same objects "
              f"{results['same objects'][-1]:.1f} projects/s (applied "
              f"{results['same objects, applied'][-1]:.1f}, as the operator "
              f"{results['same objects, as the operator'][-1]:.1f}), "
              f"Projects {results['projects'][-1]:.1f}/s "
              f"(submitted in {submitted:.1f}s, first Ready {first:.1f}s, all {all_ready:.1f}s), "
              f"{results['calls'][-1]:.1f} operator calls/Project", flush=True)
    await api.close()
    await as_operator.close()
    load_after = loadavg()

    print(f"\n{n} per round, {rounds} rounds, {concurrency} in flight, one kubernetes_asyncio client; "
          f"{os.cpu_count()} cores shared; load average {load_before} before, {load_after} after")
    if accumulate:
        print("--accumulate: nothing deleted between phases and rounds (each adds its objects)")
    else:
        print(f"each phase's objects deleted before the next (as every round starts): "
              f"{spread(cleaning)} s per clean-up")
    print(f"{'(min median max)':44} {'':>26}")
    print(f"{'reference: bare Namespace creates /s':44} {spread(results['namespaces']):>26}")
    print(f"{'ceiling: same objects created directly, /s':44} {spread(results['same objects']):>26}")
    print(f"{'same objects by server-side apply, /s':44} {spread(results['same objects, applied']):>26}")
    print(f"{'same objects as the operator (RBAC on), /s':44} "
          f"{spread(results['same objects, as the operator']):>26}")
    print(f"{'Projects Ready /s (watch)':44} {spread(results['projects']):>26}")
    print(f"{'first Project Ready after, s':44} {spread(results['first ready']):>26}")
    print(f"{'operator CPU per Project, ms':44} {spread(results['operator cpu ms']):>26}")
    print(f"{'kube-apiserver CPU per Project, ms':44} {spread(results['apiserver cpu ms (projects)']):>26}")
    print(f"{'kube-apiserver CPU per same-objects set, ms':44} "
          f"{spread(results['apiserver cpu ms (same objects)']):>26}")
    print(f"{'  the same, as the operator, ms':44} "
          f"{spread(results['apiserver cpu ms (same objects, as the operator)']):>26}")
    print(f"{'operator API calls per Project (audit log)':44} {spread(results['calls']):>26}")
    for key, count in sorted(breakdown.items(), key=lambda kv: -kv[1]):
        print(f"    {key:40} {count / (n * rounds):6.2f} per Project")
    print("other platform components' API calls in the Projects phases (audit log), per Project:")
    for key, count in sorted(others.items(), key=lambda kv: -kv[1])[:20]:
        print(f"    {key:60} {count / (n * rounds):6.2f}")
    ratio = statistics.median(results["projects"]) / statistics.median(results["same objects"])
    print(f"Projects / same-objects ceiling (medians) = {ratio:.2f} "
          f"(target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'}); "
          f"/ bare Namespaces = "
          f"{statistics.median(results['projects']) / statistics.median(results['namespaces']):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pprof", type=Path, default=None,
                        help="save CPU profiles of the kube-apiserver here (the bench's own stack only)")
    parser.add_argument("--accumulate", action="store_true",
                        help="delete nothing between phases and rounds (each round then runs with "
                        "every earlier phase's per-project ClusterRoleBindings in place)")
    parser.add_argument("--stack", type=Path, default=None,
                        help="reuse this running stack (its CA is stopped for the run, then started)")
    args = parser.parse_args()
    if args.stack is not None:
        s = Stack.from_endpoints(args.stack.resolve())
        layout = s.layout
        stack.kill(layout, "ca")
        try:
            asyncio.run(measure(layout, s, args.projects, args.rounds, args.concurrency, args.pprof,
                                args.accumulate))
        finally:
            stack.start_one(layout, "ca")
        return 0
    shutil.rmtree(STATE, ignore_errors=True)
    os.environ["LULEA_SKIP"] = "schema-registry,placement,operator-gpujob"
    if args.pprof is not None:  # a later flag wins: the stack runs with --profiling=false
        os.environ["LULEA_KUBE_APISERVER_ARGS"] = (
            os.environ.get("LULEA_KUBE_APISERVER_ARGS", "") + " --profiling=true").strip()
    layout = Layout(STATE, PORT_BASE, tools=tool_paths())
    try:
        stack.up(layout)
        stack.kill(layout, "ca")  # the operator has its certificate; see the docstring
        asyncio.run(measure(layout, Stack.from_endpoints(STATE), args.projects, args.rounds,
                            args.concurrency, args.pprof, args.accumulate))
    finally:
        stack.down(layout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
