"""What every job pod gets: identity, certificate, endpoints, and the rendezvous of its gang."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob.gang import PodEnvironment, desired_pods, desired_service
from lulea.operators.gpujob.rendezvous import SLOT, loopback_port

Obj = dict[str, Any]


def job(name: str = "train", namespace: str = "p1", user: str | None = "alice", **spec: Any) -> Obj:
    notes = {c.SUBMITTED_BY: user} if user else {}
    return {"apiVersion": "lulea.io/v1alpha1", "kind": "GpuJob",
            "metadata": {"name": name, "namespace": namespace, "uid": "u-1", "annotations": notes},
            "spec": {"image": "python", "command": ["python", "-c", "pass"], **spec}}


def env_of(pod: Obj) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}


ENDPOINTS = PodEnvironment(kafka_bootstrap="kafka:9094", schema_registry_url="https://sr:8443",
                           storage_url="https://storage:9870/webhdfs/v1", logs_url="https://logs:9428")


def test_identity_certificate_and_endpoints() -> None:
    (pod,) = desired_pods(job(gpus=1), attempt=1, env=ENDPOINTS)
    env = env_of(pod)
    assert (env["LULEA_PROJECT"], env["LULEA_JOB"], env["LULEA_USER"]) == ("p1", "train", "alice")
    assert env["LULEA_CERT_DIR"] == c.CERT_DIR
    assert env["LULEA_KAFKA_BOOTSTRAP"] == "kafka:9094"
    assert env["LULEA_SCHEMA_REGISTRY_URL"] == "https://sr:8443"
    assert env["LULEA_STORAGE_URL"] == "https://storage:9870/webhdfs/v1"
    assert env["LULEA_LOGS_URL"] == "https://logs:9428"
    (volume,) = pod["spec"]["volumes"]
    assert volume["secret"]["secretName"] == "lulea-cert-alice"
    (mount,) = pod["spec"]["containers"][0]["volumeMounts"]
    assert mount["mountPath"] == c.CERT_DIR and mount["readOnly"]


def test_endpoints_not_configured_are_absent_not_empty() -> None:
    (pod,) = desired_pods(job(gpus=1), attempt=1)
    env = env_of(pod)
    for name in ("LULEA_KAFKA_BOOTSTRAP", "LULEA_SCHEMA_REGISTRY_URL", "LULEA_STORAGE_URL", "LULEA_LOGS_URL"):
        assert name not in env


def test_a_platform_variable_wins_over_a_users_of_the_same_name() -> None:
    (pod,) = desired_pods(job(gpus=1, env=[{"name": "RANK", "value": "7"}]), attempt=1)
    names = [e["name"] for e in pod["spec"]["containers"][0]["env"]]
    assert names.index("RANK") < len(names) - 1 - names[::-1].index("RANK")  # the last one counts
    assert env_of(pod)["RANK"] == "0"


def test_a_two_host_gang_on_a_cluster_meets_through_the_headless_service() -> None:
    pods = desired_pods(job(gpus=4, hosts=2), attempt=2, env=ENDPOINTS)
    envs = [env_of(p) for p in pods]
    assert [e["RANK"] for e in envs] == ["0", "1"]
    assert {e["WORLD_SIZE"] for e in envs} == {"2"}
    assert {e["MASTER_ADDR"] for e in envs} == {"train-a2-0.train.p1.svc"}
    assert {e["MASTER_PORT"] for e in envs} == {"29500"}
    assert {e["LOCAL_RANK"] for e in envs} == {"0"}
    assert [e["PET_NODE_RANK"] for e in envs] == ["0", "1"] and {e["PET_NNODES"] for e in envs} == {"2"}
    for rank, (pod, e) in enumerate(zip(pods, envs, strict=True)):
        assert pod["spec"]["hostname"] == pod["metadata"]["name"] == f"train-a2-{rank}"
        assert pod["spec"]["subdomain"] == "train"
        tf = json.loads(e["TF_CONFIG"])
        assert tf["task"] == {"type": "worker", "index": rank}
        assert tf["cluster"]["worker"] == ["train-a2-0.train.p1.svc:29500", "train-a2-1.train.p1.svc:29500"]
    svc = desired_service(job(gpus=4, hosts=2), ENDPOINTS)
    assert svc is not None and svc["spec"]["clusterIP"] == "None"  # type: ignore[index]
    assert svc["spec"]["publishNotReadyAddresses"] is True  # type: ignore[index]


def test_loopback_gives_every_rank_the_same_master_and_its_own_tf_port() -> None:
    env = PodEnvironment(network="loopback", loopback_ports=(10000, 10999))
    envs = [env_of(p) for p in desired_pods(job(gpus=3), attempt=1, env=env)]
    base = loopback_port("p1", "train-a1", (10000, 10999))
    assert base >= 10000 and base + SLOT - 1 <= 10999 and (base - 10000) % SLOT == 0
    seen = {(e["MASTER_ADDR"], e["MASTER_PORT"], e["WORLD_SIZE"]) for e in envs}
    assert seen == {("127.0.0.1", str(base), "3")}
    workers = json.loads(envs[0]["TF_CONFIG"])["cluster"]["worker"]
    assert workers == [f"127.0.0.1:{base + i}" for i in range(3)]


def test_one_pod_needs_no_service_and_meets_itself() -> None:
    (pod,) = desired_pods(job(gpus=8, hosts=1), attempt=1)
    assert "subdomain" not in pod["spec"] and desired_service(job(gpus=8, hosts=1)) is None
    assert (env_of(pod)["MASTER_ADDR"], env_of(pod)["WORLD_SIZE"]) == ("127.0.0.1", "1")


@pytest.mark.parametrize("gang", ["train-a1", "train-a2", "other-a1"])
def test_loopback_ports_stay_in_range_and_are_stable(gang: str) -> None:
    first = loopback_port("p1", gang, (20000, 20099))
    assert first == loopback_port("p1", gang, (20000, 20099))
    assert 20000 <= first <= 20099 - SLOT + 1
