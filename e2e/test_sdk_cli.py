"""`lulea` as a person runs it on the local platform: log in from the kubeconfig (the user's own
static token, through the CA's member CSR, endpoints from ConfigMap lulea-endpoints), whoami,
then topics produce/consume as JSON lines with Avro on the wire. The CLI runs as a subprocess
with nothing but a kubeconfig and an empty config directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes_asyncio import client as k8s

import lulea.sdk
from lulea.devstack.endpoints import Stack

from .projects import create_project, delete_project, unique, wait_ready
from .test_sdk_kafka import CLICK
from .test_topics import create_topic_cr, wait_topic

LULEA = shutil.which("lulea", path=str(Path(sys.executable).parent)) or "lulea"


@dataclass
class World:
    stack: Stack
    project: str
    home: Path


def lulea_cli(stack: Stack, user: str, config: Path, *args: str, stdin: str | None = None,
              timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LULEA_")}
    env |= {"KUBECONFIG": str(stack.kubeconfig_for(user)), "LULEA_CONFIG_DIR": str(config),
            "COLUMNS": "200"}
    return subprocess.run([LULEA, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
async def world(stack: Stack, admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[World]:
    project = unique("cli")
    await create_project(admin_api, project, [("alice", "DataOwner")])
    try:
        await wait_ready(admin_api, project)
        # the Topic as a DataOwner declares it: the Topic operator makes topic, ACLs and schema
        await create_topic_cr(admin_api, project, "clicks", {"avroSchema": json.dumps(CLICK)})
        await wait_topic(admin_api, project, "clicks")
        yield World(stack, project, tmp_path_factory.mktemp("home"))
    finally:
        await delete_project(admin_api, project, wait=False)


def test_login_then_whoami(world: World) -> None:
    config = world.home / "alice"
    result = lulea_cli(world.stack, "alice", config, "login", "--project", world.project)
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"logged in to {world.project} as alice" in result.stdout
    me = lulea_cli(world.stack, "alice", config, "whoami")
    assert me.returncode == 0, me.stderr
    assert f"{world.project}__alice" in me.stdout and "h left" in me.stdout
    key = config / "projects" / world.project / "tls.key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_non_member_is_told_whom_to_ask(world: World) -> None:
    result = lulea_cli(world.stack, "bob", world.home / "bob", "login", "--project", world.project)
    assert result.returncode == 1
    assert f"bob is not a member of {world.project}; ask a DataOwner of {world.project}" in \
        " ".join(result.stderr.split())
    assert not (world.home / "bob" / "projects" / world.project / "tls.key").exists()


def test_topics_produce_and_consume_json_lines(world: World) -> None:
    config = world.home / "alice"
    if not (config / "config.json").exists():
        assert lulea_cli(world.stack, "alice", config, "login", "-p", world.project).returncode == 0
    sent = [{"user": f"u{i}", "page": "/cli", "ms": i} for i in range(5)]
    produced = lulea_cli(world.stack, "alice", config, "topics", "produce", "clicks", "--key", "user",
                         stdin="".join(json.dumps(r) + "\n" for r in sent))
    assert produced.returncode == 0, produced.stderr
    assert f"sent 5 records to {world.project}.clicks" in produced.stderr
    consumed = lulea_cli(world.stack, "alice", config, "topics", "consume", "clicks", "-g", "cli",
                         "--max", "5")
    assert consumed.returncode == 0, consumed.stderr
    assert sorted((json.loads(line) for line in consumed.stdout.splitlines()), key=lambda r: r["ms"]) == sent
    bad = lulea_cli(world.stack, "alice", config, "topics", "produce", "clicks", stdin='{"user": 1}\n')
    assert bad.returncode == 1 and "does not fit the schema" in bad.stderr


def test_the_same_sdk_code_runs_on_the_laptop_after_login(world: World) -> None:
    """What a job does with its injected environment, on the laptop with the saved login."""
    config = world.home / "alice"
    if not (config / "config.json").exists():
        assert lulea_cli(world.stack, "alice", config, "login", "-p", world.project).returncode == 0
    project = lulea.sdk.login(environ={"LULEA_CONFIG_DIR": str(config)})
    assert project.name == world.project and not project.config.in_job
    with project.kafka.producer("clicks") as producer:
        producer.send({"user": "laptop", "page": "/", "ms": 99})
    assert producer.delivered == 1
