"""The deck's demo, end to end, with examples/20-sdk-job as it is shipped: alice uploads a lookup
file to a dataset and produces Avro clicks; a GpuJob whose script comes from a ConfigMap (mounted
through the GpuJob's `volumes`) runs for real on the local pod runtime and, using nothing but the
SDK, reads the dataset file through the storage service (WebHDFS), consumes the clicks, writes a
Parquet summary to another dataset and produces a summary record to another topic; it ends
Succeeded; its output is found through the logs gateway (`project.logs.search()` and
`lulea jobs logs`); a p2 member reads the summary through the share p2 accepted, and cannot read
what was not shared. Then the same script runs unchanged on the "laptop" after `lulea login`."""

from __future__ import annotations

import ast
import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

import lulea.sdk
from lulea.devstack.endpoints import Stack

from .datasets import accept_shares, wait_dataset
from .identities import MemberFiles, member_files
from .projects import create_project, delete_project, unique, wait_ready
from .test_sdk_cli import lulea_cli
from .test_topics import wait_topic

G, V = "lulea.io", "v1alpha1"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "20-sdk-job"
SCRIPT = EXAMPLE / "clicks_summary.py"
pytestmark = pytest.mark.timeout(420)


def example(path: Path, p1: str, p2: str) -> list[dict[str, Any]]:
    """The example's objects with p1/p2 renamed to this run's projects."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        doc["metadata"]["namespace"] = p1
        for share in doc.get("spec", {}).get("shares") or ():
            share["project"] = p2
    return docs


@dataclass
class Demo:
    stack: Stack
    p1: str
    p2: str
    alice: dict[str, str]  # the environment alice's laptop code gets (her member files)
    bob: dict[str, str]
    home: Path


def laptop_env(stack: Stack, member: MemberFiles) -> dict[str, str]:
    return {"LULEA_PROJECT": member.project, "LULEA_USER": member.user,
            "LULEA_CERT_DIR": str(member.cert.parent),
            "LULEA_KAFKA_BOOTSTRAP": stack.kafka_member_bootstrap,
            "LULEA_SCHEMA_REGISTRY_URL": stack.schema_registry_url,
            "LULEA_STORAGE_URL": stack.storage_url,
            "LULEA_LOGS_URL": f"https://127.0.0.1:{stack.layout.port('logs-gateway')}"}


@pytest.fixture(scope="module")
async def demo(stack: Stack, admin_api: k8s.ApiClient, user_api: Callable[[str], k8s.ApiClient],
               gpu_platform: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    p1, p2 = unique("demo"), unique("demo2")
    await create_project(admin_api, p1, [("alice", "DataOwner"), ("carol", "DataScientist")])
    await create_project(admin_api, p2, [("bob", "DataOwner")])
    try:
        await wait_ready(admin_api, p1)
        await wait_ready(admin_api, p2)
        certs = tmp_path_factory.mktemp("certs")
        alice = await member_files(admin_api, p1, "alice", certs / "alice")
        bob = await member_files(admin_api, p2, "bob", certs / "bob")
        custom = k8s.CustomObjectsApi(admin_api)
        topics = [*example(EXAMPLE.parent / "03-topic" / "topic.yaml", p1, p2),
                  *example(EXAMPLE / "topic-summaries.yaml", p1, p2)]
        for topic in topics:
            await custom.create_namespaced_custom_object(G, V, p1, "topics", topic)
        for dataset in example(EXAMPLE / "datasets.yaml", p1, p2):
            await custom.create_namespaced_custom_object(G, V, p1, "datasets", dataset)
        for topic in topics:
            await wait_topic(admin_api, p1, topic["metadata"]["name"])
        for name in ("reference", "summaries"):
            await wait_dataset(admin_api, p1, name)
        await accept_shares(user_api("bob"), p2, [f"{p1}/summaries"])  # p2's DataOwner accepts
        yield Demo(stack, p1, p2, laptop_env(stack, alice), laptop_env(stack, bob),
                   tmp_path_factory.mktemp("home"))
    finally:
        await delete_project(admin_api, p1, wait=False)
        await delete_project(admin_api, p2, wait=False)


URLS = ["/a", "/b", "/c", "/zzz"]  # /zzz is not in pages.csv: section "other"


def clicks(n: int, offset: int = 0) -> list[dict[str, Any]]:
    return [{"user": f"u{i % 4}", "url": URLS[i % 3 if i % 5 else 3],
             "ts": 1_764_633_600_000 + offset + i} for i in range(n)]


async def wait_job(api: k8s.ApiClient, namespace: str, name: str, timeout: float = 240) -> dict[str, Any]:
    custom = k8s.CustomObjectsApi(api)
    async with asyncio.timeout(timeout):
        while True:
            job = await custom.get_namespaced_custom_object(G, V, namespace, "gpujobs", name)
            if (job.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return job  # type: ignore[no-any-return]
            await asyncio.sleep(0.5)


def the_script_names_no_endpoint_certificate_or_schema() -> None:
    tree = ast.parse(SCRIPT.read_text())
    if ast.get_docstring(tree):  # the prose may say where things come from; the code may not
        tree.body = tree.body[1:]
    code = ast.unparse(tree)
    for word in ("https://", "127.0.0.1", ":909", ".crt", ".key", "LULEA_", '"fields"', "avsc"):
        assert word not in code, f"the example script contains {word!r}"


async def test_the_demo_job_uses_only_the_sdk_and_its_output_is_found(
        demo: Demo, user_api: Callable[[str], k8s.ApiClient], admin_api: k8s.ApiClient) -> None:
    the_script_names_no_endpoint_certificate_or_schema()
    alice = lulea.sdk.login(environ=demo.alice)
    alice.datasets.put(str(EXAMPLE / "pages.csv"), "reference/pages.csv")
    sent = clicks(30)
    with alice.kafka.producer("clicks") as producer:
        for click in sent:
            producer.send(click, key=click["user"])

    # alice ships the script in a ConfigMap and submits the example's GpuJob, as she would
    as_alice = user_api("alice")
    await k8s.CoreV1Api(as_alice).create_namespaced_config_map(demo.p1, {
        "metadata": {"name": "clicks-summary"}, "data": {SCRIPT.name: SCRIPT.read_text()}})
    (job,) = example(EXAMPLE / "gpujob.yaml", demo.p1, demo.p2)
    job["spec"]["env"] = [{"name": "CLICKS_IDLE_SECONDS", "value": "8"}]
    await k8s.CustomObjectsApi(as_alice).create_namespaced_custom_object(G, V, demo.p1, "gpujobs", job)
    done = await wait_job(admin_api, demo.p1, "clicks-summary")
    assert done["status"]["phase"] == "Succeeded", done["status"]

    # the Parquet summary, in the dataset, with the sections from the dataset file
    (path,) = [p for p in alice.datasets.ls("summaries", detail=False)]
    relative = str(path).split(f"/Projects/{demo.p1}/", 1)[-1]
    with alice.datasets.open(relative, "rb") as f:
        frame = pd.read_parquet(io.BytesIO(f.read()))
    by_url = {row.url: (row.section, row.clicks) for row in frame.itertuples()}
    want: dict[str, int] = {}
    for c in sent:
        want[c["url"]] = want.get(c["url"], 0) + 1
    assert {u: n for u, (_, n) in by_url.items()} == want
    assert by_url["/b"][0] == "sport" and by_url["/c"][0] == "news" and by_url["/zzz"][0] == "other"

    # the summary record on the other topic, Avro decoded by the SDK
    with alice.kafka.consumer("click-summaries", group="check") as consumer:
        (summary,) = list(consumer.records(max_records=1, timeout=60))
    assert summary == {"path": relative, "clicks": 30, "users": 4, "pages": len(want)}

    # the job's output, through the logs gateway: the SDK, then the CLI after `lulea login`
    lines: list[str] = []
    async with asyncio.timeout(120):
        while not any(line.startswith("wrote summaries/") for line in lines):
            await asyncio.sleep(1)
            lines = [line.message for line in alice.logs.search(job="clicks-summary")]
    assert any(line == "read 3 pages from reference/pages.csv" for line in lines), lines
    assert any(line == f"read 30 clicks from 4 users on {len(want)} pages" for line in lines), lines
    config = demo.home / "alice"
    login = lulea_cli(demo.stack, "alice", config, "login", "--project", demo.p1)
    assert login.returncode == 0, login.stderr
    logs = lulea_cli(demo.stack, "alice", config, "jobs", "logs", "clicks-summary", "--grep", "wrote")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip() == f"wrote {relative} ({len(want)} rows)", logs.stdout
    waited = lulea_cli(demo.stack, "alice", config, "jobs", "wait", "clicks-summary", "--timeout", "30")
    assert waited.returncode == 0 and "Succeeded" in waited.stderr, waited.stderr

    # p2's member reads the summary through the accepted share; nothing else of p1's
    bob = lulea.sdk.login(environ=demo.bob)
    shared = bob.datasets.of(demo.p1)
    async with asyncio.timeout(60):  # the share reaches storage through the Dataset operator
        while True:
            try:
                with shared.open(relative, "rb") as f:
                    theirs = pd.read_parquet(io.BytesIO(f.read()))
                break
            except (FileNotFoundError, PermissionError):
                await asyncio.sleep(1)
    assert theirs.equals(frame)
    with pytest.raises(FileNotFoundError):  # not shared: 404, not 403
        shared.open("reference/pages.csv", "rb").read()
    with pytest.raises(PermissionError), shared.open("summaries/bob.txt", "wb") as f:
        f.write(b"mine now")  # shared ReadOnly: no writes


async def test_a_member_cannot_mount_another_members_certificate(
        demo: Demo, user_api: Callable[[str], k8s.ApiClient]) -> None:
    """carol (DataScientist of p1) may submit jobs but never read alice's Secret: a job that
    mounts `lulea-cert-alice` would make her alice. The API server refuses it at the door."""
    job = {"apiVersion": f"{G}/{V}", "kind": "GpuJob", "metadata": {"name": "steal"},
           "spec": {"image": "python", "gpus": 1, "command": ["python", "-c", "print(1)"],
                    "volumes": [{"name": "c", "secret": {"secretName": "lulea-cert-alice"}}],
                    "volumeMounts": [{"name": "c", "mountPath": "/stolen"}]}}
    with pytest.raises(ApiException) as refused:
        await k8s.CustomObjectsApi(user_api("carol")).create_namespaced_custom_object(
            G, V, demo.p1, "gpujobs", job)
    assert refused.value.status == 422
    assert "Secrets named lulea-* are the platform's" in str(refused.value.body)
    host = dict(job, spec={**job["spec"], "volumes": [{"name": "c", "hostPath": {"path": "/"}}]})
    with pytest.raises(ApiException) as refused:
        await k8s.CustomObjectsApi(user_api("carol")).create_namespaced_custom_object(
            G, V, demo.p1, "gpujobs", host)
    assert refused.value.status == 422


def test_the_same_script_runs_on_the_laptop_after_lulea_login(demo: Demo) -> None:
    config = demo.home / "alice-laptop"
    login = lulea_cli(demo.stack, "alice", config, "login", "--project", demo.p1)
    assert login.returncode == 0, login.stderr
    alice = lulea.sdk.login(environ=demo.alice)
    if not alice.datasets.exists("reference/pages.csv"):
        alice.datasets.put(str(EXAMPLE / "pages.csv"), "reference/pages.csv")
    with alice.kafka.producer("clicks") as producer:
        for click in clicks(5, offset=10_000):
            producer.send(click)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LULEA_")}
    env |= {"LULEA_CONFIG_DIR": str(config), "CLICKS_IDLE_SECONDS": "6"}
    # the job's consumer group committed what it read: the laptop run reads the 5 new clicks
    started = time.monotonic()
    run = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True,
                         timeout=180, check=False)
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout.splitlines()
    assert out[0] == f"summarising {demo.p1}.clicks as {demo.p1}__alice (job laptop)", out
    assert "read 3 pages from reference/pages.csv" in out
    assert any(line.startswith("read 5 clicks from ") for line in out), out
    assert out[-1] == f"sent the summary to {demo.p1}.click-summaries"
    print(f"the script ran on the laptop in {time.monotonic() - started:.1f}s")
