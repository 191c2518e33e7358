"""The models accept the examples and refuse what they can refuse without the API server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from lulea.core.crds import (
    Condition,
    ConditionStatus,
    Dataset,
    DatasetSpec,
    GpuJob,
    GpuJobSpec,
    GpuJobStatus,
    Phase,
    Project,
    ProjectSpec,
    Role,
    Topic,
    TopicSpec,
)

ROOT = Path(__file__).resolve().parents[3]
WHOLE = {"Project": Project, "Dataset": Dataset, "Topic": Topic, "GpuJob": GpuJob}
OWNER = {"user": "alice", "role": "DataOwner"}
GOOD_JOB = {"image": "train:1", "gpus": 8}


def _examples() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(ROOT.glob("examples/0*/*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_there_are_examples_of_each_kind_the_crd_part_owns() -> None:
    kinds = {d["kind"] for d in _examples()}
    assert {"Project", "Dataset", "Topic"} <= kinds


@pytest.mark.parametrize("doc", _examples(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_examples_are_valid(doc: dict[str, Any]) -> None:
    if doc.get("apiVersion") == "lulea.io/v1alpha1":
        WHOLE[doc["kind"]].model_validate(doc)


# model, spec, message fragment: what pydantic alone refuses.
BAD: list[tuple[str, type[BaseModel], dict[str, Any], str]] = [
    ("project-no-members", ProjectSpec, {"members": []}, "at least 1 item"),
    (
        "project-no-owner",
        ProjectSpec,
        {"members": [{"user": "bob", "role": "DataScientist"}]},
        "at least one member with role DataOwner",
    ),
    ("project-dup-user", ProjectSpec, {"members": [OWNER, {**OWNER, "role": "DataScientist"}]}, "only once"),
    ("project-bad-role", ProjectSpec, {"members": [{"user": "a", "role": "Admin"}]}, "DataOwner"),
    ("project-bad-user", ProjectSpec, {"members": [{"user": "Alice!", "role": "DataOwner"}]}, "pattern"),
    (
        "project-user-too-long",
        ProjectSpec,
        {"members": [{"user": "a" * 129, "role": "DataOwner"}]},
        "at most 128",
    ),
    (
        "project-negative-quota",
        ProjectSpec,
        {"members": [OWNER], "quotas": {"gpus": -1}},
        "greater than or equal to 0",
    ),
    (
        "project-kafka-quota-too-small",
        ProjectSpec,
        {"members": [OWNER], "quotas": {"kafkaProduceBytesPerSecond": 10}},
        "greater than or equal to 1024",
    ),
    ("project-unknown-field", ProjectSpec, {"members": [OWNER], "owner": "alice"}, "Extra inputs"),
    ("dataset-bad-access", DatasetSpec, {"shares": [{"project": "p2", "access": "Write"}]}, "ReadOnly"),
    ("dataset-bad-project", DatasetSpec, {"shares": [{"project": "P2"}]}, "pattern"),
    ("dataset-dup-share", DatasetSpec, {"shares": [{"project": "p2"}, {"project": "p2"}]}, "only once"),
    ("dataset-negative-quota", DatasetSpec, {"quota": {"bytes": -5}}, "greater than or equal"),
    ("topic-zero-partitions", TopicSpec, {"partitions": 0}, "greater than or equal to 1"),
    ("topic-too-many-partitions", TopicSpec, {"partitions": 5000}, "less than or equal to 1024"),
    (
        "topic-config-key",
        TopicSpec,
        {"config": {"unclean.leader.election.enable": "true"}},
        "config keys must be one of",
    ),
    ("topic-config-not-number", TopicSpec, {"config": {"retention.ms": "7d"}}, "whole numbers"),
    (
        "topic-cleanup-policy",
        TopicSpec,
        {"config": {"cleanup.policy": "forever"}},
        "cleanup.policy must be one of",
    ),
    (
        "topic-compression",
        TopicSpec,
        {"config": {"compression.type": "brotli"}},
        "compression.type must be one of",
    ),
    (
        "topic-min-isr",
        TopicSpec,
        {"config": {"min.insync.replicas": "2"}},
        "must not exceed replicationFactor",
    ),
    ("topic-bad-compat", TopicSpec, {"compatibility": "SIDEWAYS"}, "BACKWARD"),
    ("topic-schema-not-json", TopicSpec, {"avroSchema": "{not json"}, "must be JSON"),
    ("topic-schema-too-big", TopicSpec, {"avroSchema": '"' + "x" * 70000 + '"'}, "at most 65536"),
    ("topic-dup-share", TopicSpec, {"shares": [{"project": "p2"}, {"project": "p2"}]}, "only once"),
    ("topic-bad-access", TopicSpec, {"shares": [{"project": "p2", "access": "ReadOnly"}]}, "Read"),
    ("job-no-image", GpuJobSpec, {"gpus": 1}, "image"),
    ("job-zero-gpus", GpuJobSpec, {"image": "i", "gpus": 0}, "greater than or equal to 1"),
    ("job-not-divisible", GpuJobSpec, {**GOOD_JOB, "gpus": 10, "hosts": 3}, "divisible by hosts"),
    ("job-more-hosts", GpuJobSpec, {**GOOD_JOB, "gpus": 2, "hosts": 4}, "must not exceed gpus"),
    ("job-too-dense", GpuJobSpec, {**GOOD_JOB, "gpus": 64, "hosts": 2}, "at most 16"),
    ("job-priority", GpuJobSpec, {**GOOD_JOB, "priority": 1001}, "less than or equal to 1000"),
    ("job-retries", GpuJobSpec, {**GOOD_JOB, "maxRetries": 11}, "less than or equal to 10"),
    ("job-deadline", GpuJobSpec, {**GOOD_JOB, "activeDeadlineSeconds": 0}, "greater than or equal"),
    ("job-image-space", GpuJobSpec, {"image": "a b", "gpus": 1}, "pattern"),
    (
        "job-env-reserved",
        GpuJobSpec,
        {**GOOD_JOB, "env": [{"name": "LULEA_X", "value": "1"}]},
        "set by the platform",
    ),
    ("job-env-dup", GpuJobSpec, {**GOOD_JOB, "env": [{"name": "A"}, {"name": "A"}]}, "only once"),
    ("job-env-name", GpuJobSpec, {**GOOD_JOB, "env": [{"name": "1A"}]}, "pattern"),
    ("job-topology-key", GpuJobSpec, {**GOOD_JOB, "topology": {"groupBy": "no spaces"}}, "pattern"),
    ("job-selector-value", GpuJobSpec, {**GOOD_JOB, "nodeSelector": {"a": "bad value"}}, "pattern"),
    ("job-volume-hostpath", GpuJobSpec, {**GOOD_JOB, "volumes": [{"name": "r", "hostPath": {"path": "/"}}]},
     "Extra inputs"),
    ("job-volume-none", GpuJobSpec, {**GOOD_JOB, "volumes": [{"name": "r"}]}, "exactly one of"),
    ("job-volume-lulea-secret", GpuJobSpec,
     {**GOOD_JOB, "volumes": [{"name": "r", "secret": {"secretName": "lulea-cert-bob"}}]}, "platform's"),
    ("job-volume-dup", GpuJobSpec,
     {**GOOD_JOB, "volumes": [{"name": "r", "emptyDir": {}}, {"name": "r", "emptyDir": {}}]}, "only once"),
    ("job-mount-unknown", GpuJobSpec, {**GOOD_JOB, "volumeMounts": [{"name": "r", "mountPath": "/r"}]},
     "must name one of spec.volumes"),
    ("job-mount-platform", GpuJobSpec, {**GOOD_JOB, "volumes": [{"name": "r", "emptyDir": {}}],
                                        "volumeMounts": [{"name": "r", "mountPath": "/var/run/lulea"}]},
     "/var/run/lulea"),
]


@pytest.mark.parametrize(("case", "model", "spec", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_specs_are_refused(
    case: str, model: type[BaseModel], spec: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(spec)
    assert fragment in str(err.value), case


def test_defaults() -> None:
    topic = TopicSpec.model_validate({})
    assert (topic.partitions, topic.replication_factor, topic.compatibility) == (1, 1, "BACKWARD")
    job = GpuJobSpec.model_validate(GOOD_JOB)
    assert (job.priority, job.max_retries, job.hosts, job.gpus_per_host) == (0, 0, None, None)


@pytest.mark.parametrize(("gpus", "hosts", "per_host"), [(4, None, None), (10, 1, 10), (100, 10, 10)])
def test_gpu_shapes_from_the_issue(gpus: int, hosts: int | None, per_host: int | None) -> None:
    job = GpuJobSpec.model_validate(
        {**GOOD_JOB, "gpus": gpus, "hosts": hosts, "nodeSelector": {"lulea.io/interconnect": "infiniband"}}
    )
    assert job.gpus_per_host == per_host


def test_project_role_lookup() -> None:
    spec = ProjectSpec.model_validate({"members": [OWNER, {"user": "bob", "role": "DataScientist"}]})
    assert spec.role_of("bob") is Role.DATA_SCIENTIST
    assert spec.role_of("eve") is None


def test_status_round_trips_in_wire_form() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    status = GpuJobStatus(
        observed_generation=3,
        phase=Phase.RUNNING,
        nodes=["n1"],
        conditions=[
            Condition(type="Ready", status=ConditionStatus.TRUE, reason="Running", last_transition_time=when)
        ],
    )
    wire = status.model_dump(mode="json", exclude_none=True)
    assert wire["observedGeneration"] == 3
    assert wire["conditions"][0] == {
        "type": "Ready",
        "status": "True",
        "reason": "Running",
        "message": "",
        "lastTransitionTime": "2026-01-02T03:04:05Z",
    }
    again = GpuJobStatus.model_validate(wire)
    assert again.is_ready() and again == status


def test_whole_object_ignores_server_fields() -> None:
    obj = Project.model_validate(
        {
            "apiVersion": "lulea.io/v1alpha1",
            "kind": "Project",
            "metadata": {"name": "p1", "uid": "u", "generation": 2, "managedFields": []},
            "spec": {"members": [OWNER]},
            "status": {"observedGeneration": 1, "memberCount": 1},
        }
    )
    assert obj.metadata.generation == 2
    assert obj.status is not None and not obj.status.is_ready()
