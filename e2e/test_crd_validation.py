"""The API server refuses bad Lulea custom resources with a message a person can act on.

One row per bad object (Kueue-style table, in e2e/crd_cases.py): kind, id, the object, the
message fragment the refusal must contain. Every row is sent to the real API server as a
server-side dry run with strict field validation (what `kubectl apply` does), so nothing is
stored. Valid shapes and every example under examples/0*/ must pass; transition rules are
checked on real objects.
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
from lulea.core.crds.dataset import DatasetShareStatus, ShareState
from lulea.core.crds.definition import KINDS
from lulea.devstack.endpoints import Stack

from .crd_cases import (
    AVRO,
    BAD,
    GOOD,
    GROUP,
    NS,
    PLURAL,
    SCIENTIST,
    UNSUPPORTED,
    VERSION,
    job,
    obj,
    share,
)

REPO = Path(__file__).resolve().parents[1]
RUN = uuid.uuid4().hex[:6]  # objects this run really creates are named with it


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
        assert header == ["NAME", "PHASE", "GPUS", "HOSTS", "NODES", "READY", "AGE"], table
        assert row[0] == name and row[2:4] == ["20", "2"], table
        wide = await kubectl(stack, "get", "gj", "-n", NS, name, "-o", "wide")
        assert wide.split()[:10] == [
            "NAME",
            "PHASE",
            "GPUS",
            "HOSTS",
            "NODES",
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
    "Dataset": DatasetStatus(
        observed_generation=1, conditions=[CONDITION], path="/p/d", used_bytes=3, files=4,
        shares=[DatasetShareStatus(project="p2", access=DatasetAccess.READ_ONLY, state=ShareState.PENDING)],
    ),
    "Topic": TopicStatus(
        observed_generation=1,
        conditions=[CONDITION],
        kafka_topic="p.t",
        partitions=2,
        schema_id=7,
        schema_version=1,
        topic_id="AAAAAAAAAAAAAAAAAAAAAA",
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
        logs_query='{project="p",job="j"}',
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
