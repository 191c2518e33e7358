"""The e2e harness: one real stack per test session (or the one LULEA_E2E_STACK names).

Fixtures:
  stack            a Stack: .kubeconfig, .api_server, .ca_file, .trust_file, .kafka_bootstrap,
                   .kafka_member_bootstrap, .mongo_uri, .tokens {user: bearer token}, .logs
  gpu_platform     the stack's GpuJob operator and placement service are running (their logs dir)
  kafka            the local Kafka administrator (a KafkaClient: .aiokafka(), .confluent()) on
                   the platform listener; nothing reaches Kafka without a certificate
  mongo_uri        "mongodb://127.0.0.1:PORT/"
  admin_api        kubernetes_asyncio ApiClient acting as the cluster admin
  user_api         factory: user_api("alice") -> ApiClient acting as alice (static token)

LULEA_E2E_STACK=/path/to/state-dir reuses a running stack (e.g. `make up`'s .lulea) instead of
starting one; otherwise a fresh stack starts on LULEA_E2E_PORT_BASE (default 21000) so it never
collides with a developer's `make up`, and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client as k8s

from lulea.core.kafka import KafkaClient
from lulea.devstack import stack as devstack
from lulea.devstack.components import PLATFORM
from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import REPO, Layout, tool_paths


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    reuse = os.environ.get("LULEA_E2E_STACK")
    if reuse:
        yield Stack.from_endpoints(Path(reuse).resolve())
        return
    state_dir = REPO / ".lulea" / "e2e"
    shutil.rmtree(state_dir, ignore_errors=True)
    layout = Layout(state_dir=state_dir,
                    port_base=int(os.environ.get("LULEA_E2E_PORT_BASE", "21000")),
                    tools=tool_paths())
    try:
        devstack.up(layout)
        yield Stack.from_endpoints(state_dir)
        offenders = platform_tracebacks(layout.logs)
    finally:
        devstack.down(layout)
    assert not offenders, f"tracebacks in platform logs under {layout.logs}: {offenders}"


@pytest.fixture(scope="session")
def gpu_platform(stack: Stack) -> Path:
    """The stack's own GpuJob operator and placement service (make up runs both); their logs."""
    layout = stack.layout
    for name in ("placement", "operator-gpujob"):
        assert devstack.running(layout, name) is not None, f"the stack runs no {name}"
    return stack.logs


@pytest.fixture(scope="session")
def kafka(stack: Stack) -> KafkaClient:
    return stack.kafka_admin


@pytest.fixture(scope="session")
def mongo_uri(stack: Stack) -> str:
    return stack.mongo_uri


def _api_client(stack: Stack, token: str) -> k8s.ApiClient:
    cfg = k8s.Configuration(host=stack.api_server)
    cfg.ssl_ca_cert = str(stack.ca_file)
    cfg.api_key = {"BearerToken": token}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    return k8s.ApiClient(cfg)


@pytest.fixture(scope="session")
async def admin_api(stack: Stack) -> AsyncIterator[k8s.ApiClient]:
    api = _api_client(stack, stack.tokens["admin"])
    yield api
    await api.close()


@pytest.fixture(scope="session")
async def user_api(stack: Stack) -> AsyncIterator[Callable[[str], k8s.ApiClient]]:
    clients: dict[str, k8s.ApiClient] = {}

    def for_user(user: str) -> k8s.ApiClient:
        if user not in clients:
            clients[user] = _api_client(stack, stack.tokens[user])
        return clients[user]

    yield for_user
    for c in clients.values():
        await c.close()


# Anywhere in a line: JSON log lines carry a formatted traceback inside a string.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def platform_tracebacks(logs: Path) -> list[str]:
    """Operators' and services' logs that hold a traceback (CONVENTIONS: there must be none)."""
    platform = {c.name for c in PLATFORM}
    return sorted(p.name for p in logs.glob("*.log")
                  if p.stem in platform and TRACEBACK.search(p.read_text(errors="replace")))


E2E = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The RBAC audit check reads what every other test made the components do: it runs last.
    Tests marked `slow` (crash tests that move hundreds of MiB and thousands of files, many
    minutes each) run only when LULEA_E2E_SLOW=1 asks for them."""
    if os.environ.get("LULEA_E2E_SLOW") != "1":
        wait = pytest.mark.skip(reason="a slow crash test (many minutes): LULEA_E2E_SLOW=1 runs it")
        for item in items:  # only this suite's: other suites' `slow` tests are theirs to run
            if item.get_closest_marker("slow") and E2E in item.path.parents:
                item.add_marker(wait)
    last = [i for i in items if i.module is not None and i.module.__name__.endswith("test_rbac_audit")]
    items[:] = [i for i in items if i not in last] + last
