"""Jobs that really run: the local pod runtime (lulea.devstack.runtime) under the GpuJob operator.

Every process here is a real one on this machine, started by the stack's `pod-runtime` for a
pod without `sim.lulea.io/*` annotations: its exit code comes back through the pod's status to
the GpuJob, its stdout is in the CRI log file the logs collector reads, deleting the job stops
it, and a runtime SIGKILLed mid-job loses nothing and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import re
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack
from lulea.devstack.process import start_time

from .projects import create_project, delete_project, unique, wait_ready

G, V = "lulea.io", "v1alpha1"
Obj = dict[str, Any]
pytestmark = pytest.mark.timeout(240)


def gpujob(name: str, code: str, gpus: int = 1, hosts: int | None = None, **spec: Any) -> Obj:
    body: Obj = {"apiVersion": f"{G}/{V}", "kind": "GpuJob", "metadata": {"name": name},
                 "spec": {"image": "python:3.11", "command": ["python", "-u", "-c", textwrap.dedent(code)],
                          "gpus": gpus, **spec}}
    if hosts:
        body["spec"]["hosts"] = hosts
    return body


class Jobs:
    def __init__(self, api: k8s.ApiClient, namespace: str, stack: Stack) -> None:
        self.namespace, self.stack = namespace, stack
        self.custom, self.core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)

    async def submit(self, job: Obj) -> None:
        await self.custom.create_namespaced_custom_object(G, V, self.namespace, "gpujobs", job)

    async def get(self, name: str) -> Obj:
        return await self.custom.get_namespaced_custom_object(G, V, self.namespace, "gpujobs", name)  # type: ignore[no-any-return]

    async def wait(self, name: str, *phases: str, timeout: float = 90) -> Obj:
        async with asyncio.timeout(timeout):
            while (status := (await self.get(name)).get("status") or {}).get("phase") not in phases:
                await asyncio.sleep(0.2)
        return status

    async def pods(self, job: str) -> list[k8s.V1Pod]:
        found = await self.core.list_namespaced_pod(self.namespace, label_selector=f"lulea.io/job={job}")
        return sorted(found.items, key=lambda p: p.metadata.name)

    def log_file(self, pod: k8s.V1Pod, container: str = "main") -> Path:
        m = pod.metadata
        return self.stack.layout.pod_logs / f"{m.namespace}_{m.name}_{m.uid}" / container / "0.log"

    async def output(self, pod: k8s.V1Pod, until: str | None = None, timeout: float = 60) -> list[str]:
        """The stdout lines of the pod's CRI log (waiting for a line containing `until`)."""
        path = self.log_file(pod)
        async with asyncio.timeout(timeout):
            while True:
                lines = path.read_text().splitlines() if path.exists() else []
                out = [cri_text(line) for line in lines if line.split(" ", 2)[1:2] == ["stdout"]]
                if until is None or any(until in line for line in out):
                    return out
                await asyncio.sleep(0.2)


CRI = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (F|P) (.*)$")


def cri_text(line: str) -> str:
    m = CRI.match(line)
    assert m, f"not a CRI log line: {line!r}"
    return m.group(3)


def pid_alive(pid: int, started: str) -> bool:
    return start_time(pid) == started


async def gone(pid: int, started: str, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while pid_alive(pid, started):
            await asyncio.sleep(0.1)


@pytest.fixture
async def jobs(admin_api: k8s.ApiClient, stack: Stack, gpu_platform: Path) -> AsyncIterator[Jobs]:
    assert devstack.running(stack.layout, "pod-runtime") is not None, "the stack runs no pod-runtime"
    name = unique("rt")
    core = k8s.CoreV1Api(admin_api)
    await core.create_namespace({"metadata": {"name": name}})
    yield Jobs(admin_api, name, stack)
    await core.delete_namespace(name)


# the process says who it is: its pid and start time (field 22 of /proc/<pid>/stat)
PRINT_PID = ("import os, time; stat = open(f'/proc/{os.getpid()}/stat').read(); "
             "print('pid', os.getpid(), stat.rsplit(')', 1)[1].split()[19], flush=True)")


async def pid_of(jobs: Jobs, pod: k8s.V1Pod) -> tuple[int, str]:
    line = next(x for x in await jobs.output(pod, until="pid ") if x.startswith("pid "))
    _, pid, started = line.split()
    return int(pid), started


async def test_a_python_job_runs_for_real_and_its_stdout_is_a_cri_log(jobs: Jobs) -> None:
    await jobs.submit(gpujob("hello", """
        import os
        print("hello from", os.environ["LULEA_JOB"], "in", os.environ["LULEA_PROJECT"])
        print("gpus", os.environ["CUDA_VISIBLE_DEVICES"], os.environ["LULEA_GPUS"])
        print("world", os.environ["WORLD_SIZE"], "rank", os.environ["RANK"])
    """, gpus=2, hosts=1))
    status = await jobs.wait("hello", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    (pod,) = await jobs.pods("hello")
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0
    out = await jobs.output(pod)
    assert out[0] == f"hello from hello in {jobs.namespace}"
    gpus_line = out[1].split()
    assert len(gpus_line[1].split(",")) == 2 and gpus_line[2] == "2"  # two devices of its node
    assert out[2] == "world 1 rank 0"


async def test_an_exit_code_3_fails_the_job_with_exit_code_3_in_its_status(jobs: Jobs) -> None:
    await jobs.submit(gpujob("three", "import sys; print('bye'); sys.exit(3)"))
    status = await jobs.wait("three", "Succeeded", "Failed")
    assert status["phase"] == "Failed"
    assert "exit code 3" in status["message"], status
    (pod,) = await jobs.pods("three")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3


async def test_deleting_a_running_job_stops_its_process(jobs: Jobs) -> None:
    await jobs.submit(gpujob("sleeper", PRINT_PID + "\ntime.sleep(300)"))
    await jobs.wait("sleeper", "Running")
    (pod,) = await jobs.pods("sleeper")
    pid, started = await pid_of(jobs, pod)
    assert pid_alive(pid, started)
    await jobs.custom.delete_namespaced_custom_object(G, V, jobs.namespace, "gpujobs", "sleeper")
    await gone(pid, started)
    async with asyncio.timeout(30):
        while await jobs.pods("sleeper"):
            await asyncio.sleep(0.2)


async def test_a_runtime_killed_mid_job_adopts_it_and_the_outcome_stays_right(jobs: Jobs) -> None:
    layout = jobs.stack.layout
    await jobs.submit(gpujob("survivor", PRINT_PID + "\ntime.sleep(4)\nraise SystemExit(4)"))
    await jobs.wait("survivor", "Running")
    (pod,) = await jobs.pods("survivor")
    pid, started = await pid_of(jobs, pod)
    devstack.kill(layout, "pod-runtime")
    assert pid_alive(pid, started)  # the process does not die with the runtime
    await gone(pid, started)  # it ends on its own while no runtime watches
    devstack.start_one(layout, "pod-runtime")
    status = await jobs.wait("survivor", "Succeeded", "Failed")
    assert status["phase"] == "Failed" and "exit code 4" in status["message"], status


async def test_a_job_deleted_while_the_runtime_is_down_leaves_no_orphan(jobs: Jobs) -> None:
    layout = jobs.stack.layout
    await jobs.submit(gpujob("orphan", PRINT_PID + "\ntime.sleep(300)"))
    await jobs.wait("orphan", "Running")
    (pod,) = await jobs.pods("orphan")
    pid, started = await pid_of(jobs, pod)
    devstack.kill(layout, "pod-runtime")
    try:
        await jobs.custom.delete_namespaced_custom_object(G, V, jobs.namespace, "gpujobs", "orphan")
        await asyncio.sleep(2)
        assert pid_alive(pid, started)  # nobody stops it while the runtime is down...
    finally:
        devstack.start_one(layout, "pod-runtime")
    await gone(pid, started)  # ...and the next runtime does, since no pod explains it
    async with asyncio.timeout(30):
        while await jobs.pods("orphan"):
            await asyncio.sleep(0.2)


RENDEZVOUS = """
    import os, socket, time
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    print("rank", rank, "of", size, "master", addr, port, flush=True)
    if rank == 0:
        server = socket.create_server((addr, port))
        server.settimeout(60)
        conn, _ = server.accept()
        got = conn.recv(100).decode()
        conn.sendall(f"welcome {got}".encode())
        print("rank 0 met", got, flush=True)
    else:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = socket.create_connection((addr, port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        conn.sendall(f"rank {rank}".encode())
        print("rank 1 heard", conn.recv(100).decode(), flush=True)
"""


async def test_a_two_host_gang_meets_at_its_rendezvous(jobs: Jobs) -> None:
    await jobs.submit(gpujob("gang", RENDEZVOUS, gpus=2, hosts=2))
    status = await jobs.wait("gang", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    pods = await jobs.pods("gang")
    assert len({p.spec.node_name for p in pods}) == 2
    first, second = [await jobs.output(p) for p in pods]
    (master,) = {tuple(out[0].split()[5:]) for out in (first, second)}  # same address and port
    assert master[0] == "127.0.0.1"
    ranks = [first[0].split()[:4], second[0].split()[:4]]
    assert ranks == [["rank", "0", "of", "2"], ["rank", "1", "of", "2"]]
    assert first[1] == "rank 0 met rank 1" and second[1] == "rank 1 heard welcome rank 1"
    svc = await jobs.core.read_namespaced_service("gang", jobs.namespace)
    assert svc.spec.cluster_ip == "None"


async def test_a_bare_pod_gets_its_env_volumes_and_token(jobs: Jobs, stack: Stack) -> None:
    """What the kubelet gives a pod, locally: valueFrom, secret/configMap/downward volumes, a
    projected service-account token the API server accepts, a working dir."""
    ns, core = jobs.namespace, jobs.core
    async with asyncio.timeout(30):  # the ServiceAccount admission refuses pods until it exists
        while not (await core.list_namespaced_service_account(ns)).items:
            await asyncio.sleep(0.2)
    await core.create_namespaced_secret(ns, {"metadata": {"name": "creds"},
                                             "data": {"password": base64.b64encode(b"s3cret").decode()}})
    script = textwrap.dedent("""
        import json, os, pathlib, ssl, sys, urllib.request
        sa = pathlib.Path(sys.argv[1])
        print("password", os.environ["PASSWORD"], "mode", os.environ["MODE"], "pod", os.environ["POD"])
        print("label", pathlib.Path(os.environ["INFO"], "team").read_text())
        print("secret-file", pathlib.Path(os.environ["CREDS"], "password").read_text())
        print("cwd", os.getcwd().endswith("/work"), "ns", (sa / "namespace").read_text())
        url = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
        auth = {"Authorization": "Bearer " + (sa / "token").read_text()}
        trust = ssl.create_default_context(cafile=str(sa / "ca.crt"))
        with urllib.request.urlopen(urllib.request.Request(url + "/api", headers=auth), context=trust) as r:
            print("api", r.status, json.load(r)["kind"])
    """)
    await core.create_namespaced_config_map(ns, {"metadata": {"name": "code"},
                                                 "data": {"main.py": script, "mode": "fast"}})
    name = f"bare-{uuid.uuid4().hex[:6]}"
    await core.create_namespaced_pod(ns, {
        "metadata": {"name": name, "labels": {"team": "ml"}},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"type": "kwok"},
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{
                "name": "main", "image": "python:3.11", "workingDir": "/work",
                "command": ["python", "/code/main.py"],
                "args": ["/var/run/secrets/kubernetes.io/serviceaccount"],
                "env": [
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "code", "key": "mode"}}},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "INFO", "value": "/etc/info"}, {"name": "CREDS", "value": "/etc/creds"},
                ],
                "volumeMounts": [{"name": "code", "mountPath": "/code"},
                                 {"name": "info", "mountPath": "/etc/info"},
                                 {"name": "creds", "mountPath": "/etc/creds", "readOnly": True}],
            }],
            "volumes": [
                {"name": "code", "configMap": {"name": "code"}},
                {"name": "creds", "secret": {"secretName": "creds"}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "team", "fieldRef": {"fieldPath": "metadata.labels['team']"}}]}},
            ],
        },
    })
    async with asyncio.timeout(90):
        while (pod := await core.read_namespaced_pod(name, ns)).status.phase not in ("Succeeded", "Failed"):
            await asyncio.sleep(0.2)
    out = await jobs.output(pod)
    assert pod.status.phase == "Succeeded", (out, jobs.log_file(pod).read_text())
    assert out == [f"password s3cret mode fast pod {name}", "label ml", "secret-file s3cret",
                   f"cwd True ns {ns}", "api 200 APIVersions"]
    assert pod.status.pod_ip == "127.0.0.1"
    await core.delete_namespaced_pod(name, ns)
    async with asyncio.timeout(60):  # graceful: the runtime confirms the deletion
        while True:
            try:
                await core.read_namespaced_pod(name, ns)
            except ApiException as err:
                assert err.status == 404
                break
            await asyncio.sleep(0.2)


async def test_a_member_job_sees_its_certificate(admin_api: k8s.ApiClient,
                                               user_api: Callable[[str], k8s.ApiClient],
                                               stack: Stack, gpu_platform: Path) -> None:
    project = unique("rtp")
    await create_project(admin_api, project, [("alice", "DataOwner")])
    try:
        await wait_ready(admin_api, project)
        core = k8s.CoreV1Api(admin_api)
        async with asyncio.timeout(60):
            while True:
                try:
                    await core.read_namespaced_secret("lulea-cert-alice", project)
                    break
                except ApiException as err:
                    assert err.status == 404
                    await asyncio.sleep(0.3)
        jobs = Jobs(admin_api, project, stack)
        alice = k8s.CustomObjectsApi(user_api("alice"))
        await alice.create_namespaced_custom_object(G, V, project, "gpujobs", gpujob("mine", """
            import os, pathlib
            certs = pathlib.Path(os.environ["LULEA_CERT_DIR"])
            print("user", os.environ["LULEA_USER"], "files", sorted(p.name for p in certs.iterdir()))
            env = os.environ
            print("kafka", env["LULEA_KAFKA_BOOTSTRAP"], "registry", env["LULEA_SCHEMA_REGISTRY_URL"])
        """))
        status = await jobs.wait("mine", "Succeeded", "Failed")
        (pod,) = await jobs.pods("mine")
        out = await jobs.output(pod)
        assert status["phase"] == "Succeeded", (status, out)
        assert out[0].startswith("user alice files ") and "'tls.crt'" in out[0] and "'tls.key'" in out[0]
        assert out[1] == f"kafka {stack.kafka_member_bootstrap} registry {stack.schema_registry_url}"
    finally:
        await delete_project(admin_api, project)


def test_the_runtime_times_are_sane() -> None:
    """The CRI timestamp parser agrees with the clock (a guard for the format itself)."""
    from lulea.devstack.runtime.shim import rfc3339nano

    stamp = rfc3339nano(time.time())
    assert CRI.match(f"{stamp} stdout F x")
