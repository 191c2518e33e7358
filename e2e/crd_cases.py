"""The table of bad and good Lulea objects that e2e/test_crd_validation.py sends to the API
server: one row per bad object (kind/id, the object, the message fragment the refusal must
contain), Kueue-style, and the valid shapes that must pass. Data only; the tests are there."""

from __future__ import annotations

from typing import Any

from lulea.core.crds.definition import KINDS

GROUP, VERSION = "lulea.io", "v1alpha1"
NS = "e2e-crd-validation"  # the namespace the namespaced rows are sent to
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
    ("project/kube-prefix", project(name="kube-lab"), "or start with 'kube-'"),
    ("project/default", project(name="default"), "must not be 'default'"),
    ("project/lulea", project(name="lulea"), "(and the Kafka topics lulea.*) belong to"),
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
    ("gpujob/volume-hostpath", job(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
     'unknown field "spec.volumes[0].hostPath"'),
    ("gpujob/volume-no-source", job(volumes=[{"name": "v"}]),
     "a GpuJob volume is exactly one of configMap, secret or emptyDir"),
    ("gpujob/volume-two-sources", job(volumes=[{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}]),
     "exactly one of configMap, secret or emptyDir"),
    ("gpujob/volume-platform-secret",
     job(volumes=[{"name": "v", "secret": {"secretName": "lulea-cert-bob"}}]),
     "Secrets named lulea-* are the platform's"),
    ("gpujob/volume-reserved-name", job(volumes=[{"name": "member-cert", "emptyDir": {}}]),
     "are the platform's; choose another name"),
    ("gpujob/volume-item-escapes",
     job(volumes=[{"name": "v", "configMap": {"name": "c", "items": [{"key": "k", "path": "../../k"}]}}]),
     "may not contain a '..' path segment"),
    ("gpujob/volume-duplicate", job(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]),
     "Duplicate value"),
    ("gpujob/mount-unknown-volume", job(volumeMounts=[{"name": "v", "mountPath": "/v"}]),
     "every volumeMount must name one of spec.volumes"),
    ("gpujob/mount-over-certificate", job(volumes=[{"name": "v", "emptyDir": {}}],
                                          volumeMounts=[{"name": "v", "mountPath": "/var/run/lulea/certs"}]),
     "/var/run/lulea is where the platform mounts the member certificate"),
    ("gpujob/mount-relative", job(volumes=[{"name": "v", "emptyDir": {}}],
                                  volumeMounts=[{"name": "v", "mountPath": "opt/job"}]), "should match"),
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
    (
        "gpujob/script-from-configmap",
        job(volumes=[{"name": "code", "configMap": {"name": "train", "items": [
                          {"key": "train.py", "path": "train.py", "mode": 0o444}]}},
                     {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                     {"name": "hf", "secret": {"secretName": "hf-token", "optional": True}}],
            volumeMounts=[{"name": "code", "mountPath": "/opt/job", "readOnly": True},
                          {"name": "scratch", "mountPath": "/scratch"},
                          {"name": "hf", "mountPath": "/etc/hf/token", "subPath": "token"}]),
    ),
]
