"""CA throughput: member certificates issued per second (fresh P-256 key + signing + PKCS#12
+ Mongo record + Secret write to the real API server) next to the raw ECDSA P-256 signing
rate of this machine, measured in the same run.

    uv run --no-sync python bench/ca/run.py [--stack .lulea] [--seconds 10]

Uses the dev stack (`make up`'s .lulea) for the API server and FerretDB when it is up;
otherwise measures issuance with in-memory stores and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from lulea.ca.domain.hierarchy import Hierarchy, create_intermediate, create_root
from lulea.ca.domain.issuance import issue_member
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.domain.profiles import Subject
from lulea.ca.store.memory import MemoryEvents, MemoryRecords, MemorySecrets
from lulea.core.auth import MemberPrincipal


def raw_sign_rate(seconds: float) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    data = os.urandom(64)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        key.sign(data, ec.ECDSA(hashes.SHA256()))
        n += 1
    return n / (time.perf_counter() - start)


def sign_only_rate(hierarchy: Hierarchy, seconds: float) -> float:
    subject = Subject.member(MemberPrincipal("bench", "alice"), "DataOwner")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        issue_member(hierarchy, subject).secret_data()
        n += 1
    return n / (time.perf_counter() - start)


async def issue_rate(certs: MemberCertificates, project: str, seconds: float) -> tuple[float, int]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await certs.ensure(project, f"u{n}", "DataScientist", f"bench-{n}")
        n += 1
    return n / (time.perf_counter() - start), n


async def real_stores(stack: Path, project: str) -> tuple[Any, Any, Any, Any]:
    from kubernetes_asyncio import client as k8s
    from kubernetes_asyncio import config as k8s_config

    from lulea.ca.store.mongo import MongoRecords
    from lulea.ca.store.secrets import KubernetesSecrets

    endpoints = json.loads((stack / "endpoints.json").read_text())
    cfg = k8s.Configuration()
    await k8s_config.load_kube_config(endpoints["kubeconfig"], client_configuration=cfg)
    api = k8s.ApiClient(cfg)
    await k8s.CoreV1Api(api).create_namespace(
        k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=project)))
    records = MongoRecords.connect(endpoints["mongo_uri"], "lulea_ca_bench")
    await records.ensure_indexes()
    return api, records, KubernetesSecrets(api), k8s


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", type=Path, default=Path(__file__).parents[2] / ".lulea")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    root = create_root()
    hierarchy = Hierarchy(root.cert, create_intermediate(root))

    raw = raw_sign_rate(args.seconds / 2)
    print(f"raw ECDSA P-256 sign (SHA-256, 64 B):        {raw:10.0f} /s  (baseline)")
    local = sign_only_rate(hierarchy, args.seconds / 2)
    print(f"keygen + certificate + PKCS#12 (no I/O):     {local:10.1f} /s  "
          f"ratio {local / raw:.4f} of raw signing")

    project = f"cabench{secrets.token_hex(3)}"
    real = (args.stack / "endpoints.json").exists()
    if real:
        api, records, secret_store, k8s = await real_stores(args.stack, project)
        where = "FerretDB record + Secret on the real API server"
    else:
        records, secret_store = MemoryRecords(), MemorySecrets()
        where = "IN-MEMORY stores (no stack at --stack)"
    certs = MemberCertificates(hierarchy, records, secret_store, MemoryEvents())
    try:
        rate, n = await issue_rate(certs, project, args.seconds)
    finally:
        if real:
            await k8s.CoreV1Api(api).delete_namespace(project)
            await api.close()
    print(f"member certificates issued ({where}): {rate:10.1f} /s  "
          f"ratio {rate / raw:.4f} of raw signing  ({n} certificates)")


if __name__ == "__main__":
    asyncio.run(main())
