"""Job logs, end to end: CRI files written as a kubelet would, for the pods of a GpuJob that
exist in the API server -> the stack's collector -> Kafka -> indexer -> VictoriaLogs -> the
gateway, read with member certificates, a project service account's token and vlogscli.

Latencies are printed (run with -s to see them), never asserted (CONVENTIONS).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import ssl
import statistics
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kubernetes_asyncio import client as k8s

from e2e.identities import MemberFiles, member_files
from e2e.projects import create_project, delete_project, wait_ready
from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import tool_paths

G, V = "lulea.io", "v1alpha1"
# a pod a project namespace admits (Pod Security restricted)
RESTRICTED_POD_SPEC = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "main", "image": "x", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
}
pytestmark = pytest.mark.timeout(600)


def now_rfc3339() -> str:
    t = time.time_ns()
    return dt.datetime.fromtimestamp(t // 1_000_000_000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{t % 1_000_000_000:09d}Z"


class CriFile:
    """A container's log file as the kubelet writes it (append, rotate by rename, truncate)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / "0.log"
        self.path.touch()

    def write(self, text: str, stream: str = "stdout", tag: str = "F") -> None:
        with open(self.path, "ab") as f:
            f.write(f"{now_rfc3339()} {stream} {tag} {text}\n".encode())

    def write_raw(self, data: bytes) -> None:
        with open(self.path, "ab") as f:
            f.write(data)

    def rotate(self) -> Path:
        rotated = self.directory / f"0.log.{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S%f}"
        self.path.rename(rotated)
        self.path.touch()
        return rotated

    def truncate(self) -> None:
        with open(self.path, "wb"):
            pass


@dataclass
class World:
    stack: Stack
    p1: str
    p2: str
    job: str
    pods: list[dict[str, Any]]
    alice: MemberFiles
    dave: MemberFiles
    gateway: str
    victorialogs: str
    root: Path
    sa_token: str  # p1's default service account, audience `lulea`
    carol_token: str  # an authenticated caller in no project (a service account of `default`)
    admin: k8s.ApiClient
    files: dict[str, CriFile] = field(default_factory=dict)

    def file(self, pod: dict[str, Any], container: str | None = None, fresh: str = "") -> CriFile:
        """The CRI file of a pod's container; `fresh`: another container name (a new file)."""
        container = fresh or container or pod["container"]
        key = f"{pod['name']}/{container}"
        if key not in self.files:
            d = self.root / f"{self.p1}_{pod['name']}_{pod['uid']}" / container
            self.files[key] = CriFile(d)
        return self.files[key]

    def client(self, who: MemberFiles | None = None) -> httpx.AsyncClient:
        verify = ssl.create_default_context(cafile=str(self.stack.trust_file))
        if who is not None:
            verify.load_cert_chain(str(who.cert), str(who.key))
        return httpx.AsyncClient(base_url=self.gateway, verify=verify, timeout=30)


async def query(http: httpx.AsyncClient, project: str, logsql: str, **params: str) -> list[dict[str, Any]]:
    answer = await http.get(f"/projects/{project}/select/logsql/query", params={"query": logsql, **params})
    assert answer.status_code == 200, answer.text
    return [orjson.loads(line) for line in answer.content.splitlines() if line.strip()]


async def wait_for(http: httpx.AsyncClient, project: str, logsql: str, count: int,
                   timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await query(http, project, logsql)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def seqs(rows: list[dict[str, Any]]) -> list[int]:
    return [int(r["_msg"].rsplit("seq=", 1)[1].split()[0]) for r in sorted(rows, key=lambda r: r["_time"])]


@pytest.fixture(scope="module")
async def world(stack: Stack, admin_api: k8s.ApiClient, gpu_platform: Path, tmp_path_factory: Any
                ) -> AsyncIterator[World]:
    for name in ("victorialogs", "logs-collector", "logs-indexer", "logs-gateway"):
        assert devstack.running(stack.layout, name) is not None, f"the stack runs no {name}"
    suffix = uuid.uuid4().hex[:5]
    p1, p2 = f"logs-a-{suffix}", f"logs-b-{suffix}"
    await create_project(admin_api, p1, [("alice", "DataOwner")])
    await create_project(admin_api, p2, [("dave", "DataOwner")])
    await wait_ready(admin_api, p1)
    await wait_ready(admin_api, p2)
    custom, core = k8s.CustomObjectsApi(admin_api), k8s.CoreV1Api(admin_api)
    job = "train"
    await custom.create_namespaced_custom_object(G, V, p1, "gpujobs", {
        # kwok plays its pods (Running until deleted); the test writes their logs. Without the
        # annotation the local runtime would run them, fail them at once (no command to run) and
        # the operator would stop the job, deleting one pod ~100 ms after both were bound
        "apiVersion": f"{G}/{V}", "kind": "GpuJob",
        "metadata": {"name": job, "annotations": {"sim.lulea.io/simulated": "true"}},
        "spec": {"image": "x", "gpus": 2, "hosts": 2}})
    deadline = time.monotonic() + 90
    while True:
        listed = await core.list_namespaced_pod(p1, label_selector=f"lulea.io/job={job}")
        if len(listed.items) == 2:
            break
        if time.monotonic() > deadline:  # say what happened instead: the job may have ended
            got = await custom.get_namespaced_custom_object(G, V, p1, "gpujobs", job)
            seen = [(p.metadata.name, p.status.phase, p.spec.node_name,
                     [c.state.to_dict() for c in p.status.container_statuses or []]) for p in listed.items]
            raise AssertionError(f"the GpuJob's 2 pods were never there together: job status "
                                 f"{got.get('status')}, pods {seen}")
        await asyncio.sleep(0.3)
    pods = [{"name": p.metadata.name, "uid": p.metadata.uid, "container": p.spec.containers[0].name}
            for p in listed.items]
    tmp = tmp_path_factory.mktemp("logs-identities")
    alice = await member_files(admin_api, p1, "alice", tmp)
    dave = await member_files(admin_api, p2, "dave", tmp)
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(audiences=["lulea"]))
    minted = await core.create_namespaced_service_account_token("default", p1, request)
    carol = f"carol-{suffix}"
    await core.create_namespaced_service_account("default", {"metadata": {"name": carol}})
    carol_token = await core.create_namespaced_service_account_token(carol, "default", request)
    layout = stack.layout
    yield World(stack, p1, p2, job, pods, alice, dave,
                gateway=f"https://127.0.0.1:{layout.port('logs-gateway')}",
                victorialogs=f"http://127.0.0.1:{layout.port('victorialogs')}",
                root=stack.state_dir / "pod-logs", sa_token=minted.status.token,
                carol_token=carol_token.status.token, admin=admin_api)
    await delete_project(admin_api, p1, wait=False)
    await delete_project(admin_api, p2, wait=False)
    await core.delete_namespaced_service_account(carol, "default")


async def test_lines_are_searchable_in_order_with_job_fields_and_latency(world: World) -> None:
    """Two pods write for ~10 s; each line is polled for until the gateway shows it."""
    token = f"lat{uuid.uuid4().hex[:8]}"
    files = [world.file(p) for p in world.pods]
    written: dict[int, float] = {}
    seen: dict[int, float] = {}
    total = 400

    async def writer() -> None:
        for i in range(total):
            written[i] = time.monotonic()
            files[i % 2].write(f"{token} seq={i}")
            await asyncio.sleep(0.025)

    async def reader(http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while len(seen) < total and time.monotonic() < deadline:
            for row in await query(http, world.p1, f"{token} _time:2m", ):
                s = int(row["_msg"].rsplit("seq=", 1)[1])
                seen.setdefault(s, time.monotonic())
            await asyncio.sleep(0.05)

    async with world.client(world.alice) as http:
        await asyncio.gather(writer(), reader(http))
        rows = await query(http, world.p1, token)
    assert len(seen) == total, f"lost: {sorted(set(range(total)) - set(seen))[:20]}"
    latencies = sorted(seen[i] - written[i] for i in range(total))
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"\nwritten->searchable over {total} lines: p50 {p50:.3f}s p99 {p99:.3f}s max {latencies[-1]:.3f}s")
    assert len(rows) == total
    by_pod: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_pod.setdefault(r["pod"], []).append(r)
    names = {p["name"] for p in world.pods}
    assert set(by_pod) == names
    for pod in world.pods:
        got = seqs(by_pod[pod["name"]])
        assert got == sorted(got) and len(got) == total // 2
    job = await k8s.CustomObjectsApi(world.admin).get_namespaced_custom_object(G, V, world.p1, "gpujobs",
                                                                             world.job)
    logs_query = job["status"]["logsQuery"]
    assert logs_query == f'{{project="{world.p1}",job="{world.job}"}}'
    async with world.client(world.alice) as http:
        of_job = await query(http, world.p1, f"{logs_query} {token}")
    assert len(of_job) == total
    row = rows[0]
    assert row["project"] == world.p1 and row["job"] == world.job and row["stream"] == "stdout"
    assert row["container"] == world.pods[0]["container"] and row["lid"] and row["node"]


async def test_partial_lines_rotation_truncation_and_deletion(world: World) -> None:
    token = f"rot{uuid.uuid4().hex[:8]}"
    pod = world.pods[0]
    f = world.file(pod, fresh="sidecar")
    f.write(f"{token} seq=0 first-half", tag="P")
    f.write(f"{token} seq=1 on stderr", stream="stderr")
    f.write(" second-half", tag="P")
    f.write(" end", tag="F")
    f.write_raw(f"{now_rfc3339()} stdout F {token} seq=2 no-newline-yet".encode())
    async with world.client(world.alice) as http:
        rows = await wait_for(http, world.p1, token, 2)
        msgs = {r["_msg"] for r in rows}
        assert msgs == {f"{token} seq=0 first-half second-half end", f"{token} seq=1 on stderr"}
        f.write_raw(b"\n")
        for i in range(3, 6):
            f.write(f"{token} seq={i}")
        rotated = f.rotate()  # rename + new file, as the kubelet rotates
        for i in range(6, 9):
            f.write(f"{token} seq={i}")
        (rotated.parent / (rotated.name + ".gz")).write_bytes(b"\x1f\x8b not read")
        await wait_for(http, world.p1, token, 9)
        rotated.unlink()  # compressed away while we may still hold it
        f.truncate()  # copytruncate
        for i in range(9, 12):
            f.write(f"{token} seq={i} after truncation")
        rows = await wait_for(http, world.p1, token, 12)
        await asyncio.sleep(1.5)
        rows = await query(http, world.p1, token)
    assert sorted(seqs(rows)) == list(range(12)), sorted(seqs(rows))
    assert any(r["stream"] == "stderr" for r in rows)


async def test_a_live_tail_sees_new_lines(world: World) -> None:
    token = f"tail{uuid.uuid4().hex[:8]}"
    f = world.file(world.pods[1])
    delays: list[float] = []
    async with world.client(world.alice) as http:
        params = {"query": token, "offset": "0s", "refresh_interval": "100ms"}
        async with http.stream("GET", f"/projects/{world.p1}/select/logsql/tail", params=params,
                               timeout=httpx.Timeout(30, read=30)) as answer:
            assert answer.status_code == 200
            lines = answer.aiter_lines()
            await asyncio.sleep(0.5)
            for i in range(10):
                start = time.monotonic()
                f.write(f"{token} seq={i}")
                line = await asyncio.wait_for(anext(lines), 15)
                while not line.strip():
                    line = await asyncio.wait_for(anext(lines), 15)
                delays.append(time.monotonic() - start)
                assert f"seq={i}" in orjson.loads(line)["_msg"]
                await asyncio.sleep(0.2)
    print(f"\nlive tail: written->seen median {statistics.median(delays):.3f}s max {max(delays):.3f}s")


def sigterm(stack: Stack, name: str) -> None:
    """A graceful stop (what a rolling restart does), waited for."""
    managed = devstack.running(stack.layout, name)
    assert managed is not None
    os.kill(managed.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while managed.alive():
        assert time.monotonic() < deadline, f"{name} did not stop"
        time.sleep(0.05)


async def test_none_lost_none_twice_across_crashes_and_restarts(world: World) -> None:
    """Lines are written all along while the collector and the indexer are SIGKILLed, Kafka
    is SIGKILLed and VictoriaLogs restarted, then SIGKILLed; afterwards each line is there
    exactly once (as the reader sees it), in order per container."""
    token = f"crash{uuid.uuid4().hex[:8]}"
    files = [world.file(p) for p in world.pods]
    count = [0]
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            i = count[0]
            files[i % 2].write(f"{token} seq={i}")
            count[0] += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(writer())
    layout = world.stack.layout
    try:
        for name in ("logs-collector", "logs-indexer", "logs-collector", "logs-indexer"):
            await asyncio.sleep(2)
            await asyncio.to_thread(devstack.kill, layout, name)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(devstack.start_one, layout, name)
        await asyncio.sleep(1)
        await asyncio.to_thread(devstack.kill, layout, "kafka")
        await asyncio.to_thread(devstack.start_one, layout, "kafka")
        await asyncio.sleep(2)
        await asyncio.to_thread(sigterm, world.stack, "victorialogs")
        await asyncio.to_thread(devstack.start_one, layout, "victorialogs")
        await asyncio.sleep(2)
        # a SIGKILL loses what VictoriaLogs held in memory; the indexer has not committed it
        await asyncio.to_thread(devstack.kill, layout, "victorialogs")
        await asyncio.to_thread(devstack.start_one, layout, "victorialogs")
        await asyncio.sleep(2)
    finally:
        stop.set()
        await task
    total = count[0]
    async with world.client(world.alice) as http:
        rows = await wait_for(http, world.p1, token, total, timeout=120)
        await asyncio.sleep(2)
        rows = await query(http, world.p1, token)
        stored = await query_direct(world, token)
    got = seqs(rows)
    assert len(got) == len(set(got)), "a line shown twice"
    assert set(got) == set(range(total)), f"lost: {sorted(set(range(total)) - set(got))[:20]}"
    for pod in world.pods:
        mine = seqs([r for r in rows if r["pod"] == pod["name"]])
        assert mine == sorted(mine)
    print(f"\n{total} lines across the crashes: shown once each; stored {len(stored)} "
          f"({len(stored) - total} duplicates dropped by the gateway)")


async def query_direct(world: World, logsql: str) -> list[bytes]:
    from lulea.logs.tenancy import tenant_of

    async with httpx.AsyncClient(base_url=world.victorialogs) as vl:
        answer = await vl.get("/select/logsql/query", params={"query": logsql},
                              headers=tenant_of(world.p1).headers())
    return [line for line in answer.content.splitlines() if line.strip()]


async def test_isolation_matrix(world: World) -> None:
    """alice (p1) reads p1. dave (p2) and carol (authenticated, in no project) get 404 for p1
    whatever they send, the same answer as for a project that does not exist; dave's own p2
    holds nothing of p1 whatever he asks. Without a credential the gateway can verify (none,
    or an API-server token: wrong audience) the answer is 401, the same for every project."""
    token = f"iso{uuid.uuid4().hex[:8]}"
    world.file(world.pods[0]).write(f"{token} secret of p1")
    from lulea.logs.tenancy import tenant_of

    forged = {**tenant_of(world.p1).headers(), "X-Forwarded-Client-Cert": f'Subject="CN={world.p1}__alice"',
              "X-Scope-OrgID": world.p1}
    async with world.client(world.alice) as alice, world.client(world.dave) as dave, \
            world.client() as anonymous:
        assert len(await wait_for(alice, world.p1, token, 1)) == 1
        for endpoint in ("query", "hits", "field_names", "field_values", "streams", "stream_ids",
                         "stream_field_names", "stream_field_values", "facets", "stats_query", "tail"):
            for headers in ({}, forged):
                answer = await dave.get(f"/projects/{world.p1}/select/logsql/{endpoint}",
                                        params={"query": token, "field": "pod"}, headers=headers)
                assert answer.status_code == 404, (endpoint, answer.status_code)
            nothing = await dave.get(f"/projects/nope-{token}/select/logsql/{endpoint}",
                                     params={"query": "*"})
            assert nothing.status_code == 404 and nothing.content == answer.content
        for logsql in (token, f"project:{world.p1}", f'{{project="{world.p1}"}}', "*"):
            rows = await query(dave, world.p2, logsql)
            assert not [r for r in rows if r.get("project") == world.p1 or token in r.get("_msg", "")]
            forged_rows = await dave.get(f"/projects/{world.p2}/select/logsql/query",
                                         params={"query": logsql}, headers=forged)
            assert forged_rows.status_code == 200 and token.encode() not in forged_rows.content
        assert (await dave.get(f"/projects/{world.p2}/select/tenant_ids")).status_code == 404
        for who in ("carol", "dave", "alice", "admin"):
            api_token = {"Authorization": f"Bearer {world.stack.tokens[who]}"}
            for project in (world.p1, f"nope-{token}"):
                answer = await anonymous.get(f"/projects/{project}/select/logsql/query",
                                             params={"query": "*"}, headers=api_token)
                assert answer.status_code == 401
        carol = {"Authorization": f"Bearer {world.carol_token}"}
        for endpoint in ("query", "tail", "hits", "field_values", "streams"):
            for headers in ({}, forged):
                answer = await anonymous.get(f"/projects/{world.p1}/select/logsql/{endpoint}",
                                             params={"query": token, "field": "pod"},
                                             headers={**headers, **carol})
                assert answer.status_code == 404, (endpoint, answer.status_code)
                nothing = await anonymous.get(f"/projects/nope-{token}/select/logsql/{endpoint}",
                                              params={"query": "*"}, headers=carol)
                assert nothing.status_code == 404 and nothing.content == answer.content
        sa = {"Authorization": f"Bearer {world.sa_token}"}
        assert token in (await anonymous.get(f"/projects/{world.p1}/select/logsql/query",
                                             params={"query": token}, headers=sa)).text
        assert (await anonymous.get(f"/projects/{world.p2}/select/logsql/query",
                                    params={"query": "*"}, headers=sa)).status_code == 404


async def test_duplicates_stored_twice_are_shown_once(world: World) -> None:
    """A crash between the indexer's write and its commit stores a batch again: simulate it by
    writing the same stored lines into VictoriaLogs a second time; the gateway shows them once
    in queries and in a live tail."""
    token = f"dup{uuid.uuid4().hex[:8]}"
    world.file(world.pods[0]).write(f"{token} seq=0")
    world.file(world.pods[0]).write(f"{token} seq=1")
    from lulea.logs.indexer import INSERT_PARAMS
    from lulea.logs.tenancy import tenant_of

    async with world.client(world.alice) as http:
        rows = await wait_for(http, world.p1, token, 2)
        again = b"".join(orjson.dumps({k: v for k, v in r.items() if not k.startswith("_stream")}
                                      | {"msg": r["_msg"], "time": r["_time"]}) + b"\n" for r in rows)
        async with httpx.AsyncClient(base_url=world.victorialogs) as vl:
            put = await vl.post("/insert/jsonline", params=INSERT_PARAMS, content=again,
                                headers=tenant_of(world.p1).headers())
            assert put.status_code == 200
        deadline = time.monotonic() + 10
        while len(await query_direct(world, token)) < 4:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert sorted(seqs(await query(http, world.p1, token))) == [0, 1]
        params = {"query": token, "offset": "0s", "start_offset": "5m", "refresh_interval": "100ms"}
        async with http.stream("GET", f"/projects/{world.p1}/select/logsql/tail", params=params) as tail:
            got: list[str] = []
            async def read() -> None:
                async for line in tail.aiter_lines():
                    if line.strip():
                        got.append(orjson.loads(line)["_msg"])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(read(), 3)
    assert sorted(got) == [f"{token} seq=0", f"{token} seq=1"]


def vlogscli(world: World, url: str, query_text: str, *flags: str) -> str:
    """vlogscli, non-interactive (the query on stdin); its stdout a file: it fsyncs stdout, which
    a pipe refuses."""
    out = world.root.parent / f"vlogscli-{uuid.uuid4().hex[:6]}.out"
    with open(out, "w") as f:
        done = subprocess.run([str(tool_paths()["vlogscli"]), f"-datasource.url={url}",
                               f"-tlsCAFile={world.stack.trust_file}", *flags],
                              input=f"{query_text};\n", stdout=f, stderr=subprocess.PIPE, text=True,
                              timeout=30, cwd=world.root.parent)
    text = out.read_text() + done.stderr
    out.unlink()
    return text


def test_vlogscli_queries_through_the_gateway(world: World) -> None:
    token = f"cli{uuid.uuid4().hex[:8]}"
    world.file(world.pods[0]).write(f"{token} hello from vlogscli")
    url = f"{world.gateway}/projects/{world.p1}/select/logsql/query"
    alice = (f"-tlsCertFile={world.alice.cert}", f"-tlsKeyFile={world.alice.key}")
    deadline = time.monotonic() + 30
    while "hello from vlogscli" not in (with_cert := vlogscli(world, url, token, *alice)):
        assert time.monotonic() < deadline, with_cert
        time.sleep(0.5)
    with_token = vlogscli(world, url, token, f"-bearerToken={world.sa_token}")
    assert "hello from vlogscli" in with_token, with_token
    dave = (f"-tlsCertFile={world.dave.cert}", f"-tlsKeyFile={world.dave.key}")
    as_dave = vlogscli(world, url, token, *dave)
    assert "hello from vlogscli" not in as_dave and "404" in as_dave, as_dave


async def test_a_deleted_projects_logs_are_deleted(world: World, admin_api: k8s.ApiClient) -> None:
    from lulea.logs.tenancy import tenant_of

    name = f"logs-gone-{uuid.uuid4().hex[:5]}"
    await create_project(admin_api, name, [("alice", "DataOwner")])
    await wait_ready(admin_api, name)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "labels": {"lulea.io/job": "j"}},
           "spec": RESTRICTED_POD_SPEC}
    created = await k8s.CoreV1Api(admin_api).create_namespaced_pod(name, pod)
    f = CriFile(world.root / f"{name}_solo_{created.metadata.uid}" / "main")
    f.write("to be forgotten")
    headers = tenant_of(name).headers()
    async with httpx.AsyncClient(base_url=world.victorialogs) as vl:
        async def stored() -> int:
            answer = await vl.get("/select/logsql/query", params={"query": "forgotten"}, headers=headers)
            return len([x for x in answer.content.splitlines() if x.strip()])
        deadline = time.monotonic() + 30
        while await stored() == 0:
            assert time.monotonic() < deadline, "never stored"
            await asyncio.sleep(0.2)
        await delete_project(admin_api, name)
        deadline = time.monotonic() + 60
        while await stored() > 0:
            assert time.monotonic() < deadline, "a deleted project's logs are still there"
            await asyncio.sleep(0.5)
