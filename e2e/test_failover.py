"""Components that fail over or are killed at random converge.

- The CA, SIGKILLed at random (seeded) while 50 Projects of 3 members are created, ends with
  exactly one valid certificate per member, and nothing of its own on the dead-letter topic.
- The Project operator runs two replicas, one active through a Lease: SIGKILL the active one
  during Project changes, and the standby takes over and everything converges.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer
from cryptography import x509
from kubernetes_asyncio import client as k8s
from pymongo import AsyncMongoClient

from lulea.core.events import DEAD_LETTER_TOPIC
from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack

from .identities import member_secret
from .projects import create_project, delete_project, set_members, unique, wait_ready

pytestmark = pytest.mark.timeout(900)
SEED = int(os.environ.get("LULEA_CHAOS_SEED", "10"))
ROLES = ("DataOwner", "DataScientist")


def members_of(i: int) -> list[tuple[str, str]]:
    return [("alice", "DataOwner"), ("bob", ROLES[i % 2]), ("carol", ROLES[(i + 1) % 2])]


async def kill_at_random(stack: Stack, name: str, rng: random.Random, stop: asyncio.Event,
                         kills: list[float]) -> None:
    layout = stack.layout
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if await asyncio.to_thread(devstack.kill, layout, name) is not None:
            kills.append(time.monotonic())
            await asyncio.sleep(rng.uniform(0.0, 1.0))  # it stays down a moment, as a pod would
        await asyncio.to_thread(devstack.start_one, layout, name)


async def certificates_converged(api: k8s.ApiClient, stack: Stack, projects: list[str]) -> list[str]:
    """Projects whose members do not have exactly one valid certificate, in Secret and records."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
    wrong = []
    try:
        certs = mongo["lulea_ca"]["certificates"]
        for i, project in enumerate(projects):
            for user, role in members_of(i):
                active = [d async for d in certs.find({"project": project, "user": user, "status": "active",
                                                       "profile": "member"})]
                secret = await member_secret(api, project, user)
                serial = (format(x509.load_pem_x509_certificates(secret["tls.crt"])[0].serial_number, "x")
                          if secret else None)
                if len(active) != 1 or active[0]["_id"] != serial or active[0]["role"] != role:
                    wrong.append(f"{project}/{user}")
    finally:
        await mongo.close()
    return wrong


def parked_by(stack: Stack, group: str) -> int:
    consumer = Consumer(stack.kafka_admin.confluent(**{
        "group.id": unique("dlq-check"), "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    consumer.subscribe([DEAD_LETTER_TOPIC])
    count, idle = 0, 0
    try:
        while idle < 6:
            message = consumer.poll(0.5)
            if message is None or message.error():
                idle += 1
                continue
            idle = 0
            headers = dict(message.headers() or [])
            if headers.get("lulea_dlq_group") == group.encode():
                count += 1
    finally:
        consumer.close()
    return count


async def test_the_ca_killed_at_random_while_50_projects_are_created_converges(
        admin_api: k8s.ApiClient, stack: Stack) -> None:
    rng = random.Random(SEED)
    projects = [unique(f"chaos{i}") for i in range(50)]
    stop, kills = asyncio.Event(), []
    chaos = asyncio.create_task(kill_at_random(stack, "ca", rng, stop, kills))
    try:
        for start in range(0, len(projects), 10):  # ten at a time, as a GitOps sync would
            await asyncio.gather(*(create_project(admin_api, p, members_of(start + k))
                                   for k, p in enumerate(projects[start:start + 10])))
            await asyncio.sleep(rng.uniform(0.5, 2.0))
        while len(kills) < 5:
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await chaos
    assert devstack.running(stack.layout, "ca") is not None
    try:
        for p in projects:
            await wait_ready(admin_api, p, timeout=120)
        async with asyncio.timeout(240):
            while wrong := await certificates_converged(admin_api, stack, projects):
                await asyncio.sleep(2)
        print(f"\nCA killed {len(kills)} times (seed {SEED}); 150 members, one valid certificate each")
        assert await asyncio.to_thread(parked_by, stack, "lulea-ca") == 0
    except TimeoutError:
        raise AssertionError(f"not converged: {wrong[:10]} ({len(wrong)} members)") from None
    finally:
        await asyncio.gather(*(delete_project(admin_api, p, wait=False) for p in projects))
        for p in projects:
            await delete_project(admin_api, p)


async def _role(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            answer = await http.get(url)
    except httpx.HTTPError:
        return None
    return str(answer.json().get("role")) if answer.status_code == 200 else None


async def test_the_standby_project_operator_takes_over_when_the_leader_is_killed(
        admin_api: k8s.ApiClient, stack: Stack, tmp_path: Path) -> None:
    layout = stack.layout
    port = layout.port("operator-project") + 100
    env = devstack.replica_env(layout, "operator-project", tmp_path / "identity",
                               LULEA_PROJECT_PORT=str(port), LULEA_PROJECT_IDENTITY="e2e-standby")
    log = (tmp_path / "standby.log").open("wb")
    standby = subprocess.Popen(  # noqa: ASYNC220 - a second replica, stopped by its own pid below
        [sys.executable, "-m", "lulea.operators.project"], env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    standby_url = f"http://127.0.0.1:{port}/readyz"
    leader_url = f"http://127.0.0.1:{layout.port('operator-project')}/readyz"
    projects = [unique("fo") for _ in range(6)]
    try:
        async with asyncio.timeout(60):
            while await _role(standby_url) != "standby":
                await asyncio.sleep(0.3)
        assert await _role(leader_url) == "leader"
        await asyncio.gather(*(create_project(admin_api, p, members_of(i)) for i, p in enumerate(projects)))
        await asyncio.sleep(0.5)  # mid-reconcile
        assert await asyncio.to_thread(devstack.kill, layout, "operator-project") is not None
        killed = time.monotonic()
        for i, p in enumerate(projects[:3]):  # changes while nobody leads
            await set_members(admin_api, p, [*members_of(i), ("dave", "DataScientist")])
        async with asyncio.timeout(60):
            while await _role(standby_url) != "leader":
                await asyncio.sleep(0.2)
        took = time.monotonic() - killed
        for p in projects:
            ready = await wait_ready(admin_api, p, timeout=90)
            expected = 4 if p in projects[:3] else 3
            assert ready["status"]["memberCount"] == expected, ready["status"]
        print(f"\nthe standby led {took:.1f}s after the leader's SIGKILL (lease 15 s)")
    finally:
        standby.send_signal(signal.SIGTERM)  # gives the Lease up on its way out
        standby.wait(30)
        log.close()
        await asyncio.to_thread(devstack.start_one, layout, "operator-project")
        async with asyncio.timeout(60):
            while await _role(leader_url) != "leader":
                await asyncio.sleep(0.3)
        for p in projects:
            await delete_project(admin_api, p)
    text = (tmp_path / "standby.log").read_text(errors="replace")
    assert "Traceback (most recent call last)" not in text, text[-3000:]

