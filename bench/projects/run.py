"""How fast Projects become tenants, next to the API server's own ceiling.

On its own stack (ports 26000+, state /tmp/lulea-bench-projects, only the Project operator of
the platform's components), through one kubernetes_asyncio client with the same concurrency:
  ceiling   N bare Namespace creates
  projects  N Projects with 3 members each, timed until every one is Ready for its generation
Each Project costs the operator ~12 API writes (namespace, 2 RoleBindings, 4 cluster RBAC objects,
2 NetworkPolicies, quota, status) plus its events on Kafka.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client as k8s

from lulea.devstack import stack
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import Layout, tool_paths

N = int(os.environ.get("LULEA_BENCH_PROJECTS", "1000"))
CONCURRENCY = int(os.environ.get("LULEA_BENCH_CONCURRENCY", "32"))
STATE = Path("/tmp/lulea-bench-projects")
PORT_BASE = 26000
MEMBERS = [{"user": "alice", "role": "DataOwner"}, {"user": "bob", "role": "DataScientist"},
           {"user": "carol", "role": "DataScientist"}]


def api_client(s: Stack) -> k8s.ApiClient:
    cfg = k8s.Configuration(host=s.api_server)
    cfg.ssl_ca_cert = str(s.ca_file)
    cfg.api_key = {"BearerToken": s.tokens["admin"]}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    cfg.connection_pool_maxsize = CONCURRENCY * 2
    return k8s.ApiClient(cfg)


async def bounded(calls: list[Any]) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Any) -> None:
        async with limit:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


def ready(p: dict[str, Any]) -> bool:
    st = p.get("status") or {}
    return st.get("observedGeneration") == p["metadata"]["generation"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])


async def measure(s: Stack) -> None:
    api = api_client(s)
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    t0 = time.monotonic()
    for i in range(N // 4):  # one request at a time: the latency-bound ceiling
        await core.create_namespace({"metadata": {"name": f"seq-{i:04d}"}})
    sequential = (N // 4) / (time.monotonic() - t0)
    t0 = time.monotonic()
    await bounded([lambda i=i: core.create_namespace({"metadata": {"name": f"bare-{i:04d}"}})
                   for i in range(N)])
    ceiling = N / (time.monotonic() - t0)

    t0 = time.monotonic()
    await bounded([lambda i=i: custom.create_cluster_custom_object(
        "lulea.io", "v1alpha1", "projects",
        {"apiVersion": "lulea.io/v1alpha1", "kind": "Project", "metadata": {"name": f"bench-{i:04d}"},
         "spec": {"members": MEMBERS, "quotas": {"gpus": 8}}}) for i in range(N)])
    submitted = time.monotonic() - t0
    done, first_ready = 0, None
    while done < N:
        items = (await custom.list_cluster_custom_object("lulea.io", "v1alpha1", "projects"))["items"]
        done = sum(1 for p in items if p["metadata"]["name"].startswith("bench-") and ready(p))
        if done and first_ready is None:
            first_ready = time.monotonic() - t0
        if time.monotonic() - t0 > 1800:
            print(f"  gave up after 30 min with {done}/{N} Ready")
            break
        await asyncio.sleep(0.5)
    all_ready = time.monotonic() - t0
    rate = done / all_ready
    await api.close()
    print(f"Projects: {N} with 3 members each, {CONCURRENCY} requests in flight")
    print(f"  ceiling: bare Namespace creates      {ceiling:8.1f} /s  ({CONCURRENCY} in flight)")
    print(f"  bare Namespace creates, one at a time {sequential:7.1f} /s  ({N // 4} creates)")
    print(f"  Projects submitted in                {submitted:8.1f} s")
    print(f"  first Project Ready after            {first_ready or 0:8.1f} s")
    print(f"  all {done} Projects Ready after       {all_ready:8.1f} s")
    print(f"  Projects reconciled per second       {rate:8.1f} /s")
    print(f"  ratio to the ceiling                 {rate / ceiling:8.2f}  (target >= 0.50)")
    print(f"  ratio to one-at-a-time creates       {rate / sequential:8.2f}")


def main() -> int:
    shutil.rmtree(STATE, ignore_errors=True)
    os.environ["LULEA_SKIP"] = "ca,schema-registry,placement,operator-gpujob"
    layout = Layout(STATE, PORT_BASE, tools=tool_paths())
    try:
        stack.up(layout)
        asyncio.run(measure(Stack.from_endpoints(STATE)))
    finally:
        stack.down(layout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
