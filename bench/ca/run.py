"""CA throughput: member certificates issued per second, next to the bare Secret-create rate of
the same API server through the same client and concurrency, measured in the same run.

    uv run --no-sync python bench/ca/run.py [--stack DIR] [--projects 60] [--rounds 3] [--concurrency 4]

Needs a running stack (`lulea-stack up`, `--no-crds` is enough) for the API server and FerretDB;
its state dir is --stack (default: the repository's .lulea). Per round, alternating order,
`--projects` namespaces made beforehand for each side:
  bare Secrets   3 Secrets per namespace of the member Secret's size and shape, created through
                 KubernetesSecrets.put (the CA's own code), `--concurrency` in flight
  issuance       MemberCertificates.converge of each namespace as a new project of 3 members,
                 `--concurrency` projects at a time (the CA's work queue converges 4 at a time):
                 the project's records read (FerretDB), per member a fresh P-256 key and
                 certificate, record insert (FerretDB), Secret create, event (in memory here),
                 outbox mark (FerretDB); a fresh database per round
Also, once, without I/O: raw ECDSA P-256 signing, and key + certificate + Secret data.
Prints min/median/max over rounds, the ratio to the bare Secret rate (target >= 0.50), and the
load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench._common import loadavg, spread
from lulea.ca.domain.hierarchy import Hierarchy, create_intermediate, create_root
from lulea.ca.domain.issuance import issue_member
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.domain.profiles import Subject
from lulea.ca.store.memory import MemoryEvents
from lulea.ca.store.mongo import MongoRecords
from lulea.ca.store.secrets import KubernetesSecrets
from lulea.core.auth import MemberPrincipal


def raw_sign_rate(seconds: float) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    data = os.urandom(64)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        key.sign(data, ec.ECDSA(hashes.SHA256()))
        n += 1
    return n / (time.perf_counter() - start)


def local_rate(hierarchy: Hierarchy, seconds: float) -> float:
    subject = Subject.member(MemberPrincipal("bench", "alice"), "DataOwner")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        issue_member(hierarchy, subject).secret_data()
        n += 1
    return n / (time.perf_counter() - start)


async def bench(stack: Path, projects: int, rounds: int, concurrency: int) -> None:
    root = create_root()
    hierarchy = Hierarchy(root.cert, create_intermediate(root))
    raw = raw_sign_rate(2)
    local = local_rate(hierarchy, 2)
    endpoints = json.loads((stack / "endpoints.json").read_text())
    cfg = k8s.Configuration()
    await k8s_config.load_kube_config(endpoints["kubeconfig"], client_configuration=cfg)
    cfg.connection_pool_maxsize = max(concurrency * 2, 8)
    api = k8s.ApiClient(cfg)
    core = k8s.CoreV1Api(api)
    store = KubernetesSecrets(api)
    sample = issue_member(hierarchy, Subject.member(MemberPrincipal("bench", "alice"), "DataOwner"))
    payload = {k: os.urandom(len(v)) for k, v in sample.secret_data().items()}
    labels = {"app.kubernetes.io/managed-by": "lulea-ca", "lulea.io/project": "x", "lulea.io/user": "x"}
    annotations = {"lulea.io/serial": "0" * 32, "lulea.io/not-after": "2027-01-01T00:00:00+00:00",
                   "lulea.io/role": "DataScientist"}
    results: dict[str, list[float]] = {"bare": [], "issue": []}
    namespaces: list[str] = []
    load_before = loadavg()
    members = {"alice": "DataOwner", "bob": "DataScientist", "carol": "DataScientist"}
    limit = asyncio.Semaphore(concurrency)

    async def bounded(call: Awaitable[object]) -> None:
        async with limit:  # a coroutine does nothing until awaited: here, under the limit
            await call

    try:
        for r in range(rounds):
            tag = secrets.token_hex(3)
            bare_ns = [f"cab-{tag}-{i}" for i in range(projects)]
            issue_ns = [f"cai-{tag}-{i}" for i in range(projects)]
            await asyncio.gather(*(bounded(core.create_namespace(
                k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))) for ns in bare_ns + issue_ns))
            namespaces += bare_ns + issue_ns
            mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints["mongo_uri"], tz_aware=True)
            records = MongoRecords(mongo, f"lulea_ca_bench_{tag}")
            await records.ensure_indexes()
            certs = MemberCertificates(hierarchy, records, store, MemoryEvents())

            async def bare(names: list[str] = bare_ns) -> None:
                await asyncio.gather(*(bounded(store.put(
                    ns, f"lulea-cert-{u}", payload, labels, annotations))
                    for ns in names for u in members))

            async def issue(names: list[str] = issue_ns, c: MemberCertificates = certs) -> None:
                await asyncio.gather(*(bounded(c.converge(ns, members)) for ns in names))

            order = [("bare", bare), ("issue", issue)]
            if r % 2:
                order.reverse()
            for name, op in order:
                t0 = time.monotonic()
                await op()
                rate = projects * len(members) / (time.monotonic() - t0)
                results[name].append(rate)
                print(f"round {r + 1}: {name:5} {rate:7.1f} /s", flush=True)
            await mongo.drop_database(f"lulea_ca_bench_{tag}")
            await mongo.close()
    finally:
        await asyncio.gather(*(bounded(core.delete_namespace(ns)) for ns in namespaces))
        await api.close()
    load_after = loadavg()

    print(f"\n{rounds} alternating rounds of {projects} projects x 3 members, {concurrency} in flight, one "
          f"kubernetes_asyncio client; {os.cpu_count()} cores shared; load average {load_before} "
          f"before, {load_after} after; database {endpoints['mongo_uri']}")
    print(f"{'per second (min median max)':44} {'':>26}")
    print(f"{'raw ECDSA P-256 sign (no I/O)':44} {raw:26.0f}")
    print(f"{'key + certificate + Secret data (no I/O)':44} {local:26.0f}")
    print(f"{'baseline: bare Secret creates':44} {spread(results['bare']):>26}")
    print(f"{'member certificates issued':44} {spread(results['issue']):>26}")
    ratio = statistics.median(results["issue"]) / statistics.median(results["bare"])
    print(f"issued / bare Secret creates (medians) = {ratio:.2f} "
          f"(target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", type=Path, default=Path(__file__).parents[2] / ".lulea")
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if not (args.stack / "endpoints.json").exists():
        raise SystemExit(f"no stack at {args.stack}: start one (lulea-stack up --no-crds) or pass --stack")
    asyncio.run(bench(args.stack, args.projects, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
