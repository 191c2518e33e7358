"""desired_pods: the gang's shape and contract follow from the GpuJob alone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lulea.core import gangs
from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob.gang import InvalidSpec, PodEnvironment, desired_pods


def job(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "lulea.io/v1alpha1",
        "kind": "GpuJob",
        "metadata": {
            "name": "train",
            "namespace": "p1",
            "uid": "u-1",
            "generation": 1,
            "annotations": {"sim.lulea.io/outcome": "Succeeded", "other": "x", c.SUBMITTED_BY: "alice"},
        },
        "spec": {"image": "busybox", "command": ["sh", "-c", "true"], **spec},
    }


def gpus(pod: dict[str, Any]) -> int:
    return int(pod["spec"]["containers"][0]["resources"]["limits"][gangs.GPU])


@pytest.mark.parametrize(
    ("spec", "pods", "per_pod"),
    [
        ({"gpus": 4}, 4, 1),
        ({"gpus": 10, "hosts": 1}, 1, 10),
        ({"gpus": 100, "hosts": 10}, 10, 10),
        ({"gpus": 20, "hosts": 2}, 2, 10),
    ],
)
def test_shape(spec: dict[str, Any], pods: int, per_pod: int) -> None:
    out = desired_pods(job(**spec), attempt=1)
    assert len(out) == pods and {gpus(p) for p in out} == {per_pod}
    assert len({p["metadata"]["name"] for p in out}) == pods
    for p in out:
        assert p["metadata"]["labels"][gangs.GANG_SIZE] == str(pods)
        assert p["metadata"]["labels"][gangs.GANG] == "train-a1"


def test_distinct_hosts_and_topology_are_declared_both_ways() -> None:
    (pod, _) = desired_pods(
        job(
            gpus=20,
            hosts=2,
            topology={"groupBy": "lulea.io/rack"},
            nodeSelector={"lulea.io/gpu-model": "p100"},
        ),
        attempt=3,
    )
    notes, spec = pod["metadata"]["annotations"], pod["spec"]
    assert notes[gangs.GANG_HOSTS] == "2" and notes[gangs.GROUP_BY] == "lulea.io/rack"
    assert spec["nodeSelector"] == {"lulea.io/gpu-model": "p100"}
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == {gangs.GANG: "train-a3"}
    assert (
        spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
        == "lulea.io/rack"
    )


def test_any_hosts_has_no_affinity_and_no_hosts_annotation() -> None:
    pod = desired_pods(job(gpus=4), attempt=1)[0]
    assert "affinity" not in pod["spec"] and gangs.GANG_HOSTS not in pod["metadata"]["annotations"]


def test_contract_fields() -> None:
    pod = desired_pods(
        job(gpus=2, priority=7),
        attempt=1,
        env=PodEnvironment(kafka_bootstrap="k:9092", schema_registry_url="http://r"),
    )[0]
    meta, spec = pod["metadata"], pod["spec"]
    assert spec["schedulerName"] == "lulea-placement" and spec["restartPolicy"] == "Never"
    assert meta["labels"][gangs.PROJECT] == "p1" and meta["labels"][gangs.JOB] == "train"
    assert meta["annotations"]["sim.lulea.io/outcome"] == "Succeeded"
    assert "other" not in meta["annotations"] and meta["annotations"][gangs.PRIORITY] == "7"
    owner = meta["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("GpuJob", "u-1", True)
    assert spec["tolerations"][0]["key"] == "kwok.x-k8s.io/node"
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env["LULEA_KAFKA_BOOTSTRAP"] == "k:9092" and env["LULEA_USER"] == "alice"
    assert env["LULEA_SCHEMA_REGISTRY_URL"] == "http://r" and env["LULEA_RANK"] == "0"
    assert spec["volumes"][0]["secret"] == {"secretName": "lulea-cert-alice", "optional": True}


def test_restricted_pod_security() -> None:
    spec = desired_pods(job(gpus=1), attempt=1)[0]["spec"]
    ctr = spec["containers"][0]["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_no_submitter_no_certificate_and_no_kwok_toleration_when_off() -> None:
    j = job(gpus=1)
    del j["metadata"]["annotations"][c.SUBMITTED_BY]
    spec = desired_pods(j, attempt=1, env=PodEnvironment(tolerate_kwok=False))[0]["spec"]
    assert "volumes" not in spec and "tolerations" not in spec


@pytest.mark.parametrize(
    "submitter", ["system:serviceaccount:argocd:argocd-application-controller", "erin@example.com"]
)
def test_a_submitter_without_a_certificate_secret_gets_none_mounted(submitter: str) -> None:
    """GitOps controllers submit as service accounts: the pods must still be creatable (a Secret
    name cannot hold ':' or '@'), so nothing is mounted, but the submitter is still named."""
    j = job(gpus=1)
    j["metadata"]["annotations"][c.SUBMITTED_BY] = submitter
    spec = desired_pods(j, attempt=1)[0]["spec"]
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert "volumes" not in spec and "volumeMounts" not in spec["containers"][0]
    assert env["LULEA_USER"] == submitter and "LULEA_CERT_DIR" not in env


SCRIPT_VOLUMES = {
    "volumes": [{"name": "code", "configMap": {"name": "clicks-summary", "items": [
                    {"key": "main.py", "path": "main.py", "mode": 0o555}]}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "token", "secret": {"secretName": "hf-token", "optional": True}}],
    "volumeMounts": [{"name": "code", "mountPath": "/opt/job", "readOnly": True},
                     {"name": "scratch", "mountPath": "/scratch"},
                     {"name": "token", "mountPath": "/etc/hf", "subPath": "token"}],
}


def test_user_volumes_are_rendered_next_to_the_member_certificate() -> None:
    pod = desired_pods(job(gpus=2, hosts=2, **SCRIPT_VOLUMES), attempt=1)[1]
    spec, ctr = pod["spec"], pod["spec"]["containers"][0]
    assert spec["volumes"] == [
        {"name": "code", "configMap": {"name": "clicks-summary",
                                       "items": [{"key": "main.py", "path": "main.py", "mode": 0o555}]}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "token", "secret": {"secretName": "hf-token", "optional": True}},
        {"name": "member-cert", "secret": {"secretName": "lulea-cert-alice", "optional": True}},
    ]
    assert ctr["volumeMounts"] == [
        {"name": "code", "mountPath": "/opt/job", "readOnly": True},
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "token", "mountPath": "/etc/hf", "subPath": "token"},
        {"name": "member-cert", "mountPath": c.CERT_DIR, "readOnly": True},
    ]


@pytest.mark.parametrize(
    ("volumes", "mounts", "message"),
    [
        ([{"name": "h", "hostPath": {"path": "/"}}], [], "hostPath"),
        ([{"name": "h"}], [], "exactly one of configMap, secret or emptyDir"),
        ([{"name": "two", "emptyDir": {}, "configMap": {"name": "x"}}], [], "exactly one"),
        ([{"name": "c", "secret": {"secretName": "lulea-cert-bob"}}], [], "the platform's"),
        ([{"name": "member-cert", "emptyDir": {}}], [], "the platform's"),
        ([{"name": "c", "configMap": {"name": "x", "items": [{"key": "k", "path": "../k"}]}}], [], ".."),
        ([{"name": "c", "configMap": {"name": "x", "items": [{"key": "k", "path": "/k"}]}}], [], "relative"),
        ([{"name": "c", "emptyDir": {}}], [{"name": "c", "mountPath": "/var/run/lulea/certs"}],
         "/var/run/lulea"),
        ([{"name": "c", "emptyDir": {}}], [{"name": "c", "mountPath": "/a/../var/run"}], ".."),
        ([{"name": "c", "emptyDir": {}}], [{"name": "d", "mountPath": "/d"}], "names no volume"),
    ],
)
def test_a_volume_the_crd_refuses_is_never_rendered(volumes: list[Any], mounts: list[Any],
                                                   message: str) -> None:
    """The operator creates pods with its own rights: it re-checks what the CRD checked."""
    with pytest.raises(InvalidSpec, match=re.escape(message)):
        desired_pods(job(gpus=1, volumes=volumes, volumeMounts=mounts), attempt=1)
