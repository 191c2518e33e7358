"""Where a gang's processes meet: the variables torchrun and TensorFlow read, a pure function.

The Kubeflow Training Operator is the model: every pod of a gang of k gets `WORLD_SIZE=k`,
its `RANK`, `MASTER_ADDR`/`MASTER_PORT` of rank 0, `TF_CONFIG` listing every worker, and the
`PET_*` variables `torchrun` takes its arguments from (so `torchrun --nproc-per-node=N` inside a
pod spreads N processes per host and sets RANK/LOCAL_RANK/WORLD_SIZE itself). One process per
pod otherwise: LOCAL_RANK=0, LOCAL_WORLD_SIZE=1.

Two networks:
- `service` (a cluster): each pod has its own network namespace, so every rank listens on the
  same port (29500, torchrun's default). A headless Service named after the job selects its pods
  and every pod sets `hostname` (its name) and `subdomain` (the Service), so
  `<pod>.<job>.<namespace>.svc` resolves to it; MASTER_ADDR is rank 0's such name.
- `loopback` (the local runtime): every process shares the host's loopback, so MASTER_ADDR is
  127.0.0.1 and the gang gets its own block of ports: `SLOT` ports starting at a slot of the
  configured range chosen by a hash of namespace/gang (stable across operator restarts and the
  same for every rank, with no state to keep). TF worker i listens on base + i. Two gangs running
  at once collide only if they hash to the same slot (1 in range/SLOT).
"""

from __future__ import annotations

import json
import zlib
from typing import Literal

Network = Literal["service", "loopback"]
DEFAULT_PORT = 29500
SLOT = 16  # ports per gang on loopback: TF worker i uses base + i


def service_name(job: str) -> str:
    """The headless Service of a job's gangs: the job's name (a DNS label of at most 50 chars)."""
    return job


def loopback_port(namespace: str, gang: str, ports: tuple[int, int]) -> int:
    low, high = ports
    slots = max(1, (high - low + 1) // SLOT)
    return low + (zlib.crc32(f"{namespace}/{gang}".encode()) % slots) * SLOT


def variables(namespace: str, job: str, gang: str, size: int, rank: int, *, network: Network,
              port: int = DEFAULT_PORT, loopback_ports: tuple[int, int] = (10000, 10999)) -> dict[str, str]:
    if network == "loopback":
        base = loopback_port(namespace, gang, loopback_ports)
        hosts = [f"127.0.0.1:{base + i}" for i in range(size)]
        master, master_port = "127.0.0.1", base
    else:
        svc = service_name(job)
        hosts = [f"{gang}-{i}.{svc}.{namespace}.svc:{port}" for i in range(size)]
        master = f"{gang}-0.{svc}.{namespace}.svc" if size > 1 else "127.0.0.1"
        master_port = port
    tf_config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": rank}}
    return {
        "MASTER_ADDR": master,
        "MASTER_PORT": str(master_port),
        "WORLD_SIZE": str(size),
        "RANK": str(rank),
        "LOCAL_RANK": "0",
        "LOCAL_WORLD_SIZE": "1",
        "GROUP_RANK": str(rank),
        "NODE_RANK": str(rank),
        "PET_NNODES": str(size),
        "PET_NODE_RANK": str(rank),
        "PET_MASTER_ADDR": master,
        "PET_MASTER_PORT": str(master_port),
        "TF_CONFIG": json.dumps(tf_config, separators=(",", ":")),
    }


def headless_service(namespace: str, job: str, job_uid: str, labels: dict[str, str],
                     selector: dict[str, str], port: int = DEFAULT_PORT) -> dict[str, object]:
    """The Service that gives a multi-pod gang's pods their DNS names (`service` network)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(job), "namespace": namespace, "labels": labels,
            "ownerReferences": [{"apiVersion": "lulea.io/v1alpha1", "kind": "GpuJob", "name": job,
                                 "uid": job_uid, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "clusterIP": "None",
            "selector": selector,
            # ranks resolve each other before they are Ready (they meet to become ready)
            "publishNotReadyAddresses": True,
            "ports": [{"name": "rendezvous", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }
