"""The API server refuses bad Lulea custom resources with a message a person can act on.

One row per bad object (Kueue-style table): kind, id, the object, the message fragment the
refusal must contain. Every row is sent to the real API server as a server-side dry run with
strict field validation (what `kubectl apply` does), so nothing is stored. Valid shapes and
every example under examples/0*/ must pass; transition rules are checked on real objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from pydantic import BaseModel

from lulea.core.crds import (
    Compatibility,
    Condition,
    ConditionStatus,
    DatasetAccess,
    DatasetQuota,
    DatasetShare,
    DatasetSpec,
    DatasetStatus,
    EnvVar,
    GpuJobSpec,
    GpuJobStatus,
    Member,
    Phase,
    ProjectSpec,
    Quotas,
    Role,
    TopicAccess,
    TopicShare,
    TopicSpec,
    TopicStatus,
    Topology,
)
from lulea.core.crds.definition import KINDS
from lulea.devstack.endpoints import Stack

REPO = Path(__file__).resolve().parents[1]
GROUP, VERSION = "lulea.io", "v1alpha1"
NS = "e2e-crd-validation"
RUN = uuid.uuid4().hex[:6]  # objects this run really creates are named with it
PLURAL = {k.kind: k.plural for k in KINDS}
OWNER = {"user": "alice", "role": "DataOwner"}
SCIENTIST = {"user": "bob", "role": "DataScientist"}
JOB = {"image": "registry.example/train:1", "gpus": 8}
AVRO = '{"type": "record", "name": "Click", "fields": [{"name": "url", "type": "string"}]}'
UNSUPPORTED = "Unsupported value"
TOO_LONG = "Too long"


def obj(kind: str, spec: dict[str, Any] | None, name: str = "x1") -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}}
    if spec is not None:
        body["spec"] = spec
    return body


def project(name: str = "e2e-crd-p", **spec: Any) -> dict[str, Any]:
    return obj("Project", {"members": [OWNER, SCIENTIST], **spec}, name)


def job(name: str = "j1", **spec: Any) -> dict[str, Any]:
    return obj("GpuJob", {**JOB, **spec}, name)


def share(p: str, access: str) -> dict[str, str]:
    return {"project": p, "access": access}


# (kind/id, object, message fragment)
BAD: list[tuple[str, dict[str, Any], str]] = [
    # Project
    (
        "project/no-dataowner",
        obj("Project", {"members": [SCIENTIST]}),
        "a project needs at least one member with role DataOwner",
    ),
    ("project/empty-members", obj("Project", {"members": []}), "should have at least 1 items"),
    ("project/no-members", obj("Project", {"description": "x"}), "spec.members: Required value"),
    ("project/no-spec", obj("Project", None), "spec: Required value"),
    (
        "project/duplicate-user",
        project(members=[OWNER, {"user": "alice", "role": "DataScientist"}]),
        "Duplicate value",
    ),
    ("project/bad-role", project(members=[{"user": "alice", "role": "Admin"}]), UNSUPPORTED),
    (
        "project/role-missing",
        project(members=[OWNER, {"user": "bob"}]),
        "spec.members[1].role: Required value",
    ),
    ("project/uppercase-user", project(members=[{"user": "Alice", "role": "DataOwner"}]), "should match"),
    ("project/user-too-long", project(members=[{"user": "a" * 129, "role": "DataOwner"}]), TOO_LONG),
    (
        "project/too-many-members",
        project(members=[OWNER] + [{"user": f"u{i}", "role": "DataScientist"} for i in range(256)]),
        "Too many",
    ),
    ("project/dotted-name", project(name="p1.team"), "a project name must be a DNS label"),
    ("project/name-too-long", project(name="p" * 64), "a project name must be a DNS label"),
    ("project/kube-prefix", project(name="kube-lab"), "must not be 'default' or start with 'kube-'"),
    ("project/default", project(name="default"), "must not be 'default'"),
    ("project/lulea-prefix", project(name="lulea-system"), "start with 'kube-' or 'lulea-'"),
    ("project/negative-gpus", project(quotas={"gpus": -1}), "greater than or equal to 0"),
    ("project/negative-storage", project(quotas={"storageBytes": -1}), "greater than or equal to 0"),
    ("project/quota-not-int", project(quotas={"topics": "ten"}), "must be of type integer"),
    ("project/unknown-quota", project(quotas={"cpus": 4}), 'unknown field "spec.quotas.cpus"'),
    ("project/unknown-field", project(owner="alice"), 'unknown field "spec.owner"'),
    ("project/description-too-long", project(description="d" * 1025), TOO_LONG),
    # Dataset
    ("dataset/bad-access", obj("Dataset", {"shares": [share("p2", "Write")]}), UNSUPPORTED),
    ("dataset/topic-access", obj("Dataset", {"shares": [share("p2", "Read")]}), UNSUPPORTED),
    (
        "dataset/duplicate-share",
        obj("Dataset", {"shares": [share("p2", "ReadOnly"), share("p2", "ReadWrite")]}),
        "Duplicate value",
    ),
    ("dataset/share-bad-project", obj("Dataset", {"shares": [share("P_2", "ReadOnly")]}), "should match"),
    ("dataset/share-no-project", obj("Dataset", {"shares": [{"access": "ReadOnly"}]}), "Required value"),
    (
        "dataset/too-many-shares",
        obj("Dataset", {"shares": [share(f"p{i}", "ReadOnly") for i in range(65)]}),
        "Too many",
    ),
    ("dataset/negative-quota", obj("Dataset", {"quota": {"bytes": -1}}), "greater than or equal to 0"),
    (
        "dataset/share-to-self",
        obj("Dataset", {"shares": [share(NS, "ReadWrite")]}),
        f"a Dataset cannot be shared with its own project {NS}",
    ),
    ("dataset/dotted-name", obj("Dataset", {}, name="raw.images"), "a dataset name must be a DNS label"),
    ("dataset/unknown-field", obj("Dataset", {"path": "/x"}), 'unknown field "spec.path"'),
    # Topic
    ("topic/zero-partitions", obj("Topic", {"partitions": 0}), "greater than or equal to 1"),
    ("topic/too-many-partitions", obj("Topic", {"partitions": 2000}), "less than or equal to 1024"),
    ("topic/replication-6", obj("Topic", {"replicationFactor": 6}), "less than or equal to 5"),
    (
        "topic/config-key-not-allowed",
        obj("Topic", {"config": {"unclean.leader.election.enable": "true"}}),
        "config keys must be one of",
    ),
    ("topic/config-not-a-number", obj("Topic", {"config": {"retention.ms": "7d"}}), "must be whole numbers"),
    ("topic/config-value-int", obj("Topic", {"config": {"retention.ms": 1000}}), "must be of type string"),
    (
        "topic/cleanup-policy",
        obj("Topic", {"config": {"cleanup.policy": "forever"}}),
        "config cleanup.policy must be one of",
    ),
    (
        "topic/compression",
        obj("Topic", {"config": {"compression.type": "brotli"}}),
        "config compression.type must be one of",
    ),
    (
        "topic/min-isr-above-replication",
        obj("Topic", {"replicationFactor": 1, "config": {"min.insync.replicas": "2"}}),
        "min.insync.replicas must not exceed replicationFactor",
    ),
    ("topic/bad-compatibility", obj("Topic", {"avroSchema": AVRO, "compatibility": "SIDEWAYS"}), UNSUPPORTED),
    (
        "topic/schema-not-json",
        obj("Topic", {"avroSchema": "record Click"}),
        "avroSchema must be an Avro schema in JSON",
    ),
    ("topic/schema-empty", obj("Topic", {"avroSchema": ""}), "should be at least 1 chars long"),
    ("topic/schema-too-big", obj("Topic", {"avroSchema": '"' + "x" * 65536 + '"'}), TOO_LONG),
    ("topic/dataset-access", obj("Topic", {"shares": [share("p2", "ReadOnly")]}), UNSUPPORTED),
    (
        "topic/duplicate-share",
        obj("Topic", {"shares": [share("p2", "Read"), share("p2", "Read")]}),
        "Duplicate value",
    ),
    (
        "topic/share-to-self",
        obj("Topic", {"shares": [share("p2", "Read"), share(NS, "Read")]}),
        f"a Topic cannot be shared with its own project {NS}",
    ),
    ("topic/name-too-long", obj("Topic", {}, name="t" * 64), "a topic name must be a DNS label"),
    ("topic/unknown-field", obj("Topic", {"replicas": 3}), 'unknown field "spec.replicas"'),
    # GpuJob
    ("gpujob/no-image", obj("GpuJob", {"gpus": 1}), "spec.image: Required value"),
    ("gpujob/no-gpus", obj("GpuJob", {"image": "i"}), "spec.gpus: Required value"),
    ("gpujob/no-spec", obj("GpuJob", None), "spec: Required value"),
    ("gpujob/zero-gpus", job(gpus=0), "greater than or equal to 1"),
    ("gpujob/too-many-gpus", job(gpus=5000), "less than or equal to 4096"),
    ("gpujob/zero-hosts", job(hosts=0), "greater than or equal to 1"),
    ("gpujob/not-divisible", job(gpus=10, hosts=3), "gpus must be divisible by hosts"),
    ("gpujob/hosts-above-gpus", job(gpus=2, hosts=4), "hosts must not exceed gpus"),
    ("gpujob/too-many-per-host", job(gpus=64, hosts=2), "gpus/hosts must be at most 16"),
    ("gpujob/priority-high", job(priority=1001), "less than or equal to 1000"),
    ("gpujob/priority-negative", job(priority=-1), "greater than or equal to 0"),
    ("gpujob/retries", job(maxRetries=11), "less than or equal to 10"),
    ("gpujob/deadline-zero", job(activeDeadlineSeconds=0), "greater than or equal to 1"),
    ("gpujob/image-with-space", job(image="train 1"), "should match"),
    (
        "gpujob/env-reserved",
        job(env=[{"name": "LULEA_TOKEN", "value": "x"}]),
        "env names starting with LULEA_ are set by the platform",
    ),
    (
        "gpujob/env-duplicate",
        job(env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
        "Duplicate value",
    ),
    ("gpujob/env-bad-name", job(env=[{"name": "1X"}]), "should match"),
    ("gpujob/selector-bad-key", job(nodeSelector={"bad key!": "x"}), "nodeSelector keys must be label keys"),
    ("gpujob/selector-bad-value", job(nodeSelector={"lulea.io/gpu-model": "p100 or a100"}), "should match"),
    ("gpujob/too-many-selectors", job(nodeSelector={f"k{i}": "v" for i in range(17)}), "Too many"),
    ("gpujob/topology-no-group", job(topology={}), "spec.topology.groupBy: Required value"),
    ("gpujob/topology-bad-key", job(topology={"groupBy": "rack of nodes"}), "should match"),
    ("gpujob/command-not-list", job(command="python train.py"), "must be of type array"),
    ("gpujob/name-too-long", job(name="j" * 51), "a GpuJob name must be a DNS label"),
    ("gpujob/unknown-field", job(replicas=2), 'unknown field "spec.replicas"'),
]

GOOD: list[tuple[str, dict[str, Any]]] = [
    ("project/minimal", obj("Project", {"members": [OWNER]}, "e2e-crd-min")),
    (
        "project/full",
        project(description="d" * 1024, quotas={"gpus": 0, "storageBytes": 2**40, "topics": 10, "jobs": 100}),
    ),
    (
        "project/email-user",
        obj(
            "Project", {"members": [{"user": "alice.smith@example.org", "role": "DataOwner"}]}, "e2e-crd-mail"
        ),
    ),
    ("dataset/empty", obj("Dataset", {})),
    (
        "dataset/shared",
        obj(
            "Dataset",
            {
                "quota": {"bytes": 0, "files": 10},
                "shares": [share("p2", "ReadOnly"), share("p3", "ReadWrite")],
            },
        ),
    ),
    ("topic/defaults", obj("Topic", {})),
    (
        "topic/full",
        obj(
            "Topic",
            {
                "partitions": 1024,
                "replicationFactor": 3,
                "avroSchema": AVRO,
                "compatibility": "FULL_TRANSITIVE",
                "shares": [share("p2", "Read"), share("p3", "ReadWrite")],
                "config": {
                    "min.insync.replicas": "2",
                    "cleanup.policy": "compact,delete",
                    "compression.type": "zstd",
                    "retention.bytes": "-1",
                },
            },
        ),
    ),
    ("topic/primitive-schema", obj("Topic", {"avroSchema": '"string"'})),
    ("gpujob/4-anywhere", job(gpus=4)),
    ("gpujob/10-on-1-host", job(gpus=10, hosts=1)),
    (
        "gpujob/100-on-10-infiniband",
        job(
            name="j" * 50,
            gpus=100,
            hosts=10,
            priority=1000,
            maxRetries=10,
            activeDeadlineSeconds=3600,
            command=["python", "train.py"],
            args=["--epochs", "3"],
            env=[{"name": "EPOCHS", "value": "3"}, {"name": "EMPTY"}],
            nodeSelector={"lulea.io/interconnect": "infiniband", "lulea.io/gpu-model": "p100"},
            topology={"groupBy": "lulea.io/rack"},
        ),
    ),
    ("gpujob/16-per-host", job(gpus=32, hosts=2)),
]


async def kubectl(stack: Stack, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        stack.kubectl,
        f"--kubeconfig={stack.kubeconfig}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
    return out.decode()


@pytest.fixture(scope="module")
async def crds(stack: Stack, admin_api: k8s.ApiClient) -> AsyncIterator[k8s.CustomObjectsApi]:
    """The CRDs and admission policies from crds/ installed (again: server-side apply is
    idempotent), a namespace to dry-run namespaced objects in, and the policy in force."""
    files = [f"-f={p}" for p in sorted((REPO / "crds").glob("*.lulea.io.yaml"))]
    await kubectl(stack, "apply", "--server-side", "--force-conflicts", *files)
    await kubectl(stack, "wait", "--for=condition=Established", "--timeout=60s", *files)
    await kubectl(stack, "apply", "--server-side", "--force-conflicts", f"-f={REPO / 'crds' / 'admission'}")
    core = k8s.CoreV1Api(admin_api)
    for _ in range(120):  # a previous run's namespace may still be terminating
        try:
            await core.create_namespace({"metadata": {"name": NS}})
            break
        except ApiException as err:
            if err.status != 409:
                raise
            if (await core.read_namespace(NS)).status.phase == "Active":
                break
            await asyncio.sleep(1)
    api = k8s.CustomObjectsApi(admin_api)
    await _policy_in_force(api)
    yield api
    await core.delete_namespace(NS)


async def _policy_in_force(api: k8s.CustomObjectsApi) -> None:
    """An admission policy is compiled asynchronously after it is created."""
    self_share = obj("Dataset", {"shares": [share(NS, "ReadOnly")]})
    for _ in range(60):
        try:
            await create(api, self_share)
        except ApiException as err:
            if err.status in (400, 403, 422):
                return
            raise
        await asyncio.sleep(0.5)
    raise AssertionError("the lulea-shares admission policy never took effect")


async def create(api: k8s.CustomObjectsApi, body: dict[str, Any], dry_run: bool = True) -> Any:
    kind = body["kind"]
    extra: dict[str, Any] = {"field_validation": "Strict"}
    if dry_run:
        extra["dry_run"] = "All"
    if kind == "Project":
        return await api.create_cluster_custom_object(GROUP, VERSION, "projects", body, **extra)
    return await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL[kind], body, **extra)


async def patch(api: k8s.CustomObjectsApi, kind: str, name: str, spec: dict[str, Any]) -> Any:
    return await api.patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL[kind], name, {"spec": spec}, _content_type="application/merge-patch+json"
    )


def test_the_table_is_dozens_of_distinct_objects() -> None:
    ids = [row[0] for row in BAD]
    assert len(ids) == len(set(ids)) and len(ids) >= 48
    assert {i.split("/")[0] for i in ids} == {"project", "dataset", "topic", "gpujob"}


@pytest.mark.parametrize(("case", "body", "fragment"), BAD, ids=[row[0] for row in BAD])
async def test_bad_object_is_refused(
    crds: k8s.CustomObjectsApi, case: str, body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ApiException) as refused:
        await create(crds, copy.deepcopy(body))
    assert refused.value.status in (400, 422), refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert fragment in message, f"{case}: {message}"


@pytest.mark.parametrize(("case", "body"), GOOD, ids=[row[0] for row in GOOD])
async def test_valid_object_passes(crds: k8s.CustomObjectsApi, case: str, body: dict[str, Any]) -> None:
    created = await create(crds, copy.deepcopy(body))
    assert created["metadata"]["name"] == body["metadata"]["name"], case


def _examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(REPO.glob("examples/0*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion") == f"{GROUP}/{VERSION}":
                found.append((f"{path.parent.name}/{doc['metadata']['name']}", doc))
    return found


@pytest.mark.parametrize(("case", "body"), _examples(), ids=[e[0] for e in _examples()])
async def test_example_passes_dry_run(crds: k8s.CustomObjectsApi, case: str, body: dict[str, Any]) -> None:
    # Namespaced examples name their project's namespace (p1); that namespace exists only
    # once the project operator ran, so the schema check runs in this test's namespace.
    # Projects get a fresh name: the example itself may already exist (the project e2e applies it).
    body = copy.deepcopy(body)
    body["metadata"].pop("namespace", None)
    if body["kind"] == "Project":
        body["metadata"]["name"] = f"e2e-crd-{body['metadata']['name']}"
    created = await create(crds, body)
    assert created["spec"], case


async def test_defaults_are_filled_in(crds: k8s.CustomObjectsApi) -> None:
    topic = await create(crds, obj("Topic", {"avroSchema": AVRO}))
    assert (topic["spec"]["partitions"], topic["spec"]["replicationFactor"]) == (1, 1)
    assert topic["spec"]["compatibility"] == "BACKWARD"
    gpujob = await create(crds, job())
    assert (gpujob["spec"]["priority"], gpujob["spec"]["maxRetries"]) == (0, 0)
    assert "hosts" not in gpujob["spec"]
    share_default = await create(crds, obj("Dataset", {"shares": [{"project": "p2"}]}))
    assert share_default["spec"]["shares"] == [share("p2", "ReadOnly")]


@contextlib.asynccontextmanager
async def stored(api: k8s.CustomObjectsApi, body: dict[str, Any]) -> AsyncIterator[str]:
    """A really created object (transition rules need an old self), deleted afterwards."""
    await create(api, body, dry_run=False)
    try:
        yield body["metadata"]["name"]
    finally:
        await api.delete_namespaced_custom_object(
            GROUP, VERSION, NS, PLURAL[body["kind"]], body["metadata"]["name"]
        )


# Real GpuJobs here ask for a GPU model no node has: the gpujob operator and the placement
# service may see them, but they never hold GPUs other tests need.
NOWHERE = {"lulea.io/gpu-model": "e2e-crd-validation-none"}


async def test_topic_partitions_only_grow(crds: k8s.CustomObjectsApi) -> None:
    async with stored(crds, obj("Topic", {"partitions": 3}, f"grow-{RUN}")) as name:
        with pytest.raises(ApiException) as refused:
            await patch(crds, "Topic", name, {"partitions": 2})
        assert "partitions can only grow" in refused.value.body
        grown = await patch(crds, "Topic", name, {"partitions": 6})
        assert grown["spec"]["partitions"] == 6
        with pytest.raises(ApiException) as refused:
            await patch(crds, "Topic", name, {"replicationFactor": 2})
        assert "replicationFactor is immutable" in refused.value.body


async def test_gpujob_spec_is_immutable_except_priority(crds: k8s.CustomObjectsApi) -> None:
    body = job(f"frozen-{RUN}", gpus=8, hosts=2, nodeSelector=NOWHERE)
    async with stored(crds, body) as name:
        bumped = await patch(crds, "GpuJob", name, {"priority": 500})
        assert bumped["spec"]["priority"] == 500
        for change in (
            {"gpus": 16},
            {"hosts": None},
            {"nodeSelector": {"type": "kwok"}},
            {"image": "other:2"},
            {"env": [{"name": "A", "value": "1"}]},
            {"topology": {"groupBy": "lulea.io/rack"}},
            {"maxRetries": 3},
        ):
            with pytest.raises(ApiException) as refused:
                await patch(crds, "GpuJob", name, change)
            assert "immutable except priority" in refused.value.body, change


async def test_status_subresource_and_printer_columns(crds: k8s.CustomObjectsApi, stack: Stack) -> None:
    status = {
        "observedGeneration": 1,
        "phase": "Running",
        "attempts": 1,
        "nodes": ["n1", "n2"],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Running",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    async with stored(crds, job(f"shown-{RUN}", gpus=20, hosts=2, nodeSelector=NOWHERE)) as name:
        # The response is the object right after this write (an operator may write later).
        updated = await crds.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            NS,
            "gpujobs",
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )
        assert updated["status"]["phase"] == "Running"
        assert updated["status"]["conditions"][0]["message"] == ""  # defaulted
        assert updated["spec"]["gpus"] == 20  # the status subresource leaves spec alone
        with pytest.raises(ApiException) as refused:
            await crds.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                NS,
                "gpujobs",
                name,
                {"status": {"phase": "Sleeping"}},
                _content_type="application/merge-patch+json",
            )
        assert UNSUPPORTED in refused.value.body
        table = await kubectl(stack, "get", "gj", "-n", NS, name)
        header, row = (line.split() for line in table.splitlines()[:2])
        assert header == ["NAME", "PHASE", "GPUS", "HOSTS", "READY", "AGE"], table
        assert row[0] == name and row[2:4] == ["20", "2"], table
        wide = await kubectl(stack, "get", "gj", "-n", NS, name, "-o", "wide")
        assert wide.split()[:9] == [
            "NAME",
            "PHASE",
            "GPUS",
            "HOSTS",
            "PRIORITY",
            "ATTEMPTS",
            "READY",
            "REASON",
            "AGE",
        ], wide
        names = await kubectl(stack, "get", "lulea", "-n", NS, "-o", "name")
        assert f"gpujob.lulea.io/{name}" in names.split()
        # status.phase is a selectable field; spec.image is not.
        none = await kubectl(
            stack, "get", "gj", "-n", NS, "-o", "name", "--field-selector=status.phase=NoSuchPhase"
        )
        assert none.strip() == ""
        with pytest.raises(AssertionError, match="field label not supported"):
            await kubectl(stack, "get", "gj", "-n", NS, "--field-selector=spec.image=x")


async def test_kubectl_apply_dry_run_of_the_project_examples(
    crds: k8s.CustomObjectsApi, stack: Stack
) -> None:
    # What a user types; the Projects are cluster-scoped, so no namespace needs to exist.
    out = await kubectl(stack, "apply", "--dry-run=server", "-f", str(REPO / "examples/01-project"))
    for name in ("p1", "p2"):  # "unchanged" when the project e2e already applied it
        assert re.search(
            rf"project.lulea.io/{name} (created|configured|unchanged) \(server dry run\)", out
        ), out


async def test_kubectl_shows_the_refusal_message(crds: k8s.CustomObjectsApi, stack: Stack) -> None:
    bad = yaml.safe_dump(obj("Project", {"members": [SCIENTIST]}, "e2e-crd-no-owner"))
    proc = await asyncio.create_subprocess_exec(
        stack.kubectl,
        f"--kubeconfig={stack.kubeconfig}",
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(bad.encode()), timeout=60)
    assert proc.returncode != 0
    assert "a project needs at least one member with role DataOwner" in err.decode()


WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CONDITION = Condition(
    type="Ready",
    status=ConditionStatus.FALSE,
    reason="Waiting",
    message="waiting",
    last_transition_time=WHEN,
    observed_generation=1,
)
FULL_SPECS: dict[str, BaseModel] = {
    "Project": ProjectSpec(
        description="all fields",
        members=[Member(user="alice", role=Role.DATA_OWNER), Member(user="bob", role=Role.DATA_SCIENTIST)],
        quotas=Quotas(gpus=1, storage_bytes=2**40, topics=2, jobs=3),
    ),
    "Dataset": DatasetSpec(
        description="all fields",
        quota=DatasetQuota(bytes=1, files=2),
        shares=[DatasetShare(project="p2", access=DatasetAccess.READ_WRITE)],
    ),
    "Topic": TopicSpec(
        partitions=2,
        replication_factor=1,
        config={"retention.ms": "1000"},
        avro_schema=AVRO,
        compatibility=Compatibility.FULL,
        shares=[TopicShare(project="p2", access=TopicAccess.READ_WRITE)],
    ),
    "GpuJob": GpuJobSpec(
        image="i:1",
        command=["c"],
        args=["a"],
        env=[EnvVar(name="E", value="v")],
        gpus=4,
        hosts=2,
        node_selector=NOWHERE,
        topology=Topology(group_by="lulea.io/rack"),
        priority=1,
        max_retries=1,
        active_deadline_seconds=60,
    ),
}
FULL_STATUSES: dict[str, BaseModel] = {
    "Dataset": DatasetStatus(observed_generation=1, conditions=[CONDITION], path="/p/d", used_bytes=3),
    "Topic": TopicStatus(
        observed_generation=1,
        conditions=[CONDITION],
        kafka_topic="p.t",
        partitions=2,
        schema_id=7,
        schema_version=1,
    ),
    "GpuJob": GpuJobStatus(
        observed_generation=1,
        conditions=[CONDITION],
        phase=Phase.FAILED,
        nodes=["n1"],
        attempts=2,
        gang_id="g",
        message="m",
        start_time=WHEN,
        completion_time=WHEN,
    ),
}


def _wire(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _schema_fields(kind: str, part: str) -> set[str]:
    crd = next(k for k in KINDS if k.kind == kind)
    return set(crd.openapi_schema()["properties"][part]["properties"])


@pytest.mark.parametrize("kind", sorted(FULL_SPECS))
async def test_every_spec_field_of_the_model_survives_the_server(
    crds: k8s.CustomObjectsApi, kind: str
) -> None:
    sent = _wire(FULL_SPECS[kind])
    assert set(sent) == _schema_fields(kind, "spec"), "the fixture must set every field"
    name = "e2e-crd-full" if kind == "Project" else "full"
    back = await create(crds, obj(kind, sent, name))
    assert back["spec"] == sent  # nothing pruned, nothing changed
    assert type(FULL_SPECS[kind]).model_validate(back["spec"]) == FULL_SPECS[kind]


@pytest.mark.parametrize("kind", sorted(FULL_STATUSES))
async def test_every_status_field_of_the_model_survives_the_server(
    crds: k8s.CustomObjectsApi, kind: str
) -> None:
    sent = _wire(FULL_STATUSES[kind])
    assert set(sent) == _schema_fields(kind, "status"), "the fixture must set every field"
    async with stored(crds, obj(kind, _wire(FULL_SPECS[kind]), f"status-{RUN}")) as name:
        back = await crds.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            NS,
            PLURAL[kind],
            name,
            {"status": sent},
            _content_type="application/merge-patch+json",
        )
    assert back["status"] == sent
    assert type(FULL_STATUSES[kind]).model_validate(back["status"]) == FULL_STATUSES[kind]
