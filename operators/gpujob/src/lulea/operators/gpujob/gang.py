"""The gang of pods a GpuJob attempt needs: a pure function of the job, unit-tested.

`hosts: k` gives k pods of gpus/k GPUs each, on k distinct nodes; no `hosts` gives one pod
per GPU, anywhere. The pods also carry pod (anti-)affinity saying the same thing, so that
kube-scheduler, given the same pods, would be asked for the same shape (bench/placement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lulea.core import gangs
from lulea.core.crds.volumes import Volume, VolumeMount
from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob import rendezvous

Obj = dict[str, Any]


@dataclass(frozen=True)
class PodEnvironment:
    """What the platform injects into every job pod (docs/gpu-jobs.md, "What every job gets")."""

    kafka_bootstrap: str | None = None
    schema_registry_url: str | None = None
    storage_url: str | None = None
    logs_url: str | None = None
    tolerate_kwok: bool = True
    network: rendezvous.Network = "service"
    rendezvous_port: int = rendezvous.DEFAULT_PORT
    loopback_ports: tuple[int, int] = (10000, 10999)
    extra_env: dict[str, str] = field(default_factory=dict)


def gang_id(job: str, attempt: int) -> str:
    return f"{job}-a{attempt}"


def gang_shape(spec: Obj) -> tuple[int, int]:
    """(pods, GPUs per pod) from the spec alone."""
    gpus, hosts = int(spec["gpus"]), spec.get("hosts")
    if hosts:
        return int(hosts), gpus // int(hosts)
    return gpus, 1


def _affinity(spec: Obj, gang: str) -> Obj:
    same_gang = {"labelSelector": {"matchLabels": {gangs.GANG: gang}}}
    affinity: Obj = {}
    if spec.get("hosts") and int(spec["hosts"]) > 1:
        affinity["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {**same_gang, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    group_by = (spec.get("topology") or {}).get("groupBy")
    if group_by:
        affinity["podAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [{**same_gang, "topologyKey": group_by}]
        }
    return affinity


class InvalidSpec(ValueError):
    """A spec the CRD should have refused: the job fails with this message, no pod is made."""


def user_volumes(spec: Obj) -> tuple[list[Obj], list[Obj]]:
    """spec.volumes and spec.volumeMounts as pod volumes and container mounts. Parsed again with
    the CRD's own models (which repeat its CEL rules): the operator creates the pods with its own
    rights, so it never renders a volume the CRD would refuse (hostPath, a platform Secret, a
    mount over the certificate), even from an object an older CRD let in."""
    try:
        volumes = [Volume.model_validate(v) for v in spec.get("volumes") or ()]
        mounts = [VolumeMount.model_validate(m) for m in spec.get("volumeMounts") or ()]
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'volume'}: {e['msg']}" for e in err.errors())
        raise InvalidSpec(f"spec.volumes/volumeMounts refused: {problems}") from None
    names = {v.name for v in volumes}
    for m in mounts:
        if m.name not in names:
            raise InvalidSpec(f"volumeMount {m.mount_path} names no volume {m.name!r} of spec.volumes")
    return ([v.pod_volume() for v in volumes],
            [m.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for m in mounts])


def desired_pods(job: Obj, attempt: int, env: PodEnvironment | None = None) -> list[Obj]:
    """Every pod of the job's gang for this attempt, ready to create."""
    env = env or PodEnvironment()
    meta, spec = job["metadata"], job["spec"]
    name, namespace = meta["name"], meta["namespace"]
    size, per_pod = gang_shape(spec)
    gang = gang_id(name, attempt)
    notes_in = meta.get("annotations") or {}
    user = notes_in.get(c.SUBMITTED_BY)
    annotations = {k: v for k, v in notes_in.items() if k.startswith(gangs.SIM_PREFIX)}
    annotations[gangs.PRIORITY] = str(spec.get("priority", 0))
    if spec.get("hosts"):
        annotations[gangs.GANG_HOSTS] = str(size)
    group_by = (spec.get("topology") or {}).get("groupBy")
    if group_by:
        annotations[gangs.GROUP_BY] = group_by
    labels = {
        gangs.GANG: gang,
        gangs.GANG_SIZE: str(size),
        gangs.PROJECT: namespace,
        gangs.JOB: name,
        gangs.ATTEMPT: str(attempt),
        "app.kubernetes.io/managed-by": "lulea-operator-gpujob",
    }
    platform_env = {
        "LULEA_PROJECT": namespace,
        "LULEA_JOB": name,
        "LULEA_GANG": gang,
        "LULEA_GANG_SIZE": str(size),
        "LULEA_GPUS": str(per_pod),
        **env.extra_env,
    }
    if env.kafka_bootstrap:
        platform_env["LULEA_KAFKA_BOOTSTRAP"] = env.kafka_bootstrap
    if env.schema_registry_url:
        platform_env["LULEA_SCHEMA_REGISTRY_URL"] = env.schema_registry_url
    if env.storage_url:
        platform_env["LULEA_STORAGE_URL"] = env.storage_url
    if env.logs_url:
        platform_env["LULEA_LOGS_URL"] = env.logs_url
    volumes, mounts = user_volumes(spec)
    if user:
        platform_env["LULEA_USER"] = user
    if user and c.has_cert_secret(user):
        platform_env["LULEA_CERT_DIR"] = c.CERT_DIR
        # optional: a job runs (without Kafka mTLS) where no CA has issued the member a cert
        volumes.append(
            {"name": "member-cert", "secret": {"secretName": c.cert_secret(user), "optional": True}}
        )
        mounts.append({"name": "member-cert", "mountPath": c.CERT_DIR, "readOnly": True})
    tolerations = [{"key": c.KWOK_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    owner = {
        "apiVersion": f"{c.GROUP}/{c.VERSION}",
        "kind": "GpuJob",
        "name": name,
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    pods = []
    for rank in range(size):
        user_env = [{"name": e["name"], "value": e.get("value", "")} for e in spec.get("env") or ()]
        container: Obj = {
            "name": "main",
            "image": spec["image"],
            "env": user_env
            + [{"name": k, "value": v} for k, v in platform_env.items()]
            + [{"name": "LULEA_RANK", "value": str(rank)}]
            + [{"name": k, "value": v} for k, v in rendezvous.variables(
                namespace, name, gang, size, rank, network=env.network, port=env.rendezvous_port,
                loopback_ports=env.loopback_ports).items()],
            "resources": {"limits": {gangs.GPU: str(per_pod)}, "requests": {gangs.GPU: str(per_pod)}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
        if spec.get("command"):
            container["command"] = list(spec["command"])
        if spec.get("args"):
            container["args"] = list(spec["args"])
        if mounts:
            container["volumeMounts"] = mounts
        pod_spec: Obj = {
            "schedulerName": gangs.SCHEDULER_NAME,
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65532,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
        }
        if size > 1:  # <pod>.<job>.<namespace>.svc through the job's headless Service
            pod_spec["hostname"] = f"{gang}-{rank}"
            pod_spec["subdomain"] = rendezvous.service_name(name)
        if spec.get("nodeSelector"):
            pod_spec["nodeSelector"] = dict(spec["nodeSelector"])
        if env.tolerate_kwok:
            pod_spec["tolerations"] = tolerations
        if affinity := _affinity(spec, gang):
            pod_spec["affinity"] = affinity
        if volumes:
            pod_spec["volumes"] = volumes
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{gang}-{rank}",
                    "namespace": namespace,
                    "labels": {**labels, gangs.RANK: str(rank)},
                    "annotations": dict(annotations),
                    "ownerReferences": [owner],
                },
                "spec": pod_spec,
            }
        )
    return pods


def desired_service(job: Obj, env: PodEnvironment | None = None) -> Obj | None:
    """The headless Service of a job whose gang has more than one pod, else None."""
    env = env or PodEnvironment()
    meta = job["metadata"]
    size, _ = gang_shape(job["spec"])
    if size < 2:
        return None
    labels = {gangs.PROJECT: meta["namespace"], gangs.JOB: meta["name"],
              "app.kubernetes.io/managed-by": "lulea-operator-gpujob"}
    return rendezvous.headless_service(meta["namespace"], meta["name"], meta["uid"], labels,
                                       {gangs.JOB: meta["name"]}, env.rendezvous_port)
