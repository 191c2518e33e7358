"""up / down / status of a local stack. `up` is idempotent: what already runs is left alone.

Any failure during `up` raises StackError with one line naming what failed and where its log
is, after stopping every process this `up` started (processes from an earlier `up` stay).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from lulea.devstack import accounts, credentials, fleet, kafka
from lulea.devstack.components import Component, all_components, module_installed
from lulea.devstack.layout import PORT_OFFSETS, REPO, USERS, Layout
from lulea.devstack.process import Managed, StackError, port_in_use, read_pidfile, spawn, stop


@dataclass
class Report:
    name: str
    pid: int | None
    running: bool
    ready: bool


def _enabled(component: Component) -> bool:
    """Platform components run when their package is installed, unless LULEA_SKIP names them
    (comma-separated), e.g. a benchmark that measures one operator alone."""
    skipped = {s.strip() for s in os.environ.get("LULEA_SKIP", "").split(",") if s.strip()}
    if component.name in skipped:
        return False
    return component.python_module is None or module_installed(component.python_module)


def _pidfile(layout: Layout, name: str) -> Path:
    return layout.pids / f"{name}.pid"


def _running(layout: Layout, name: str) -> Managed | None:
    managed = read_pidfile(_pidfile(layout, name))
    return managed if managed is not None and managed.alive() else None


def preflight(layout: Layout, components: list[Component]) -> None:
    """Missing tools and busy ports are found before anything starts."""
    for component in components:
        for tool in component.tools:
            path = layout.tools.get(tool)
            if path is None or not path.exists():
                raise StackError(f"{component.name}: {tool} is not built (expected at {path}); "
                                 f"run `make tools` (logs in ~/.cache/lulea/logs)")
    for component in components:
        if _running(layout, component.name):
            continue
        for port_name in component.ports:
            port = layout.port(port_name)
            if port_in_use(port):
                raise StackError(f"{component.name}: port {port} ({port_name}) is already in use; "
                                 f"pick another base with LULEA_PORT_BASE (now {layout.port_base})")


def _wait_ready(layout: Layout, component: Component, managed: Managed) -> None:
    deadline = time.monotonic() + component.start_timeout
    while time.monotonic() < deadline:
        if not managed.alive():
            raise StackError(f"{component.name} exited during start-up; "
                             f"log: {layout.log(component.name)}")
        if component.ready(layout):
            return
        time.sleep(0.25)
    raise StackError(f"{component.name} not ready after {component.start_timeout:.0f}s; "
                     f"log: {layout.log(component.name)}")


def _start(layout: Layout, component: Component, started: list[Managed],
           timings: dict[str, float]) -> None:
    if _running(layout, component.name):
        return
    t0 = time.monotonic()
    if component.prepare is not None:
        component.prepare(layout)
    managed = spawn(component.name, component.argv(layout), layout.log(component.name),
                    _pidfile(layout, component.name), env=component.env(layout), cwd=REPO)
    started.append(managed)
    _wait_ready(layout, component, managed)
    timings[component.name] = time.monotonic() - t0


def kubectl(layout: Layout, *args: str, input_text: str | None = None) -> str:
    result = subprocess.run(
        [str(layout.tools["kubectl"]), f"--kubeconfig={layout.kubeconfig}", *args],
        input=input_text, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise StackError(f"kubectl {' '.join(args[:3])}: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout


def install_fleet(layout: Layout) -> int:
    """Create the fleet's Nodes and set their capacity (create drops .status; kwok keeps what the
    status subresource holds). Straight to the API, many at a time: 1,000 nodes take seconds."""
    nodes = fleet.nodes(fleet.load(layout.fleet_file))
    asyncio.run(_put_nodes(layout, nodes))
    return len(nodes)


async def _put_nodes(layout: Layout, nodes: list[dict[str, Any]]) -> None:
    token = json.loads((layout.pki / "tokens.json").read_text())["admin"]
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=layout.api_server, verify=str(layout.pki / "ca.crt"),
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:

        async def put(node: dict[str, Any]) -> None:
            name = node["metadata"]["name"]
            async with limit:
                created = await api.post("/api/v1/nodes", json=node)
                if created.status_code not in (201, 409):
                    raise StackError(f"fleet: creating node {name}: {created.text[:200]}")
                patched = await api.patch(
                    f"/api/v1/nodes/{name}/status", json={"status": node["status"]},
                    headers={"Content-Type": "application/merge-patch+json"})
                if patched.status_code != 200:
                    raise StackError(f"fleet: setting capacity of node {name}: {patched.text[:200]}")

        await asyncio.gather(*(put(n) for n in nodes))


def install_crds(layout: Layout) -> int:
    crds = sorted((REPO / "crds").glob("*.yaml"))
    if not crds:
        return 0
    kubectl(layout, "apply", "--server-side", "--force-conflicts", *[f"-f={c}" for c in crds])
    kubectl(layout, "wait", "--for=condition=Established", "--timeout=60s",
            *[f"-f={c}" for c in crds])
    # Rules CEL in a CRD cannot express (they need the object's namespace) are admission policies.
    admission = REPO / "crds" / "admission"
    if admission.is_dir():
        kubectl(layout, "apply", "--server-side", "--force-conflicts", f"-f={admission}")
    return len(crds)


def bootstrap_cluster(layout: Layout, crds: bool = True) -> dict[str, int]:
    """What a platform team does before `helm install`: the platform namespace (the chart does
    not own it), and here also the fleet and the CRDs."""
    kubectl(layout, "apply", "--server-side", "-f", "-", input_text=yaml.safe_dump({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": accounts.PLATFORM_NAMESPACE, "labels": {
            "lulea.io/platform": "true", "pod-security.kubernetes.io/enforce": "restricted"}},
    }))
    kubectl(layout, "apply", "--server-side", "-f", "-", input_text=credentials.installer_rbac())
    return {"nodes": install_fleet(layout), "crds": install_crds(layout) if crds else 0}


def kafka_env(layout: Layout) -> dict[str, str]:
    """The local Kafka administrator's connection, as `python -m lulea.core.events` reads it."""
    cert, key = kafka.admin_files(layout)
    return {"LULEA_KAFKA_BOOTSTRAP": layout.kafka_bootstrap,
            "LULEA_KAFKA_TRUST_FILE": str(kafka.trust_file(layout)),
            "LULEA_KAFKA_CERT_FILE": str(cert), "LULEA_KAFKA_KEY_FILE": str(key)}


def setup_kafka(layout: Layout) -> None:
    """The platform's event topics and ACLs (replication factor 1: one broker)."""
    result = subprocess.run(
        [sys.executable, "-m", "lulea.core.events", "setup", "--replication-factor", "1",
         "--min-insync-replicas", "1"],
        env={**os.environ, **kafka_env(layout)}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        log = layout.log("kafka-setup")
        log.write_text(result.stdout + result.stderr)
        raise StackError(f"kafka-setup: creating the event topics and ACLs failed; see {log}")


def up(layout: Layout, crds: bool = True) -> dict[str, object]:
    """Start what is not running, each component as soon as what it `needs` is ready (the
    control plane, Kafka and FerretDB come up side by side). `crds=False` leaves the CRDs (and
    so the operators) out, for iterating on the CRDs themselves."""
    layout.ensure_dirs()
    components = [c for c in all_components() if _enabled(c) and (crds or c.python_module is None)
                  and (c.unavailable is None or c.unavailable(layout) is None)]
    preflight(layout, components)
    credentials.ensure_control_plane_pki(layout)
    tokens = credentials.ensure_tokens(layout)
    credentials.write_kubeconfigs(layout, tokens)
    kafka.ensure_hierarchy(layout)
    started: list[Managed] = []
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}

    def bootstrap() -> None:
        t0 = time.monotonic()
        counts.update(bootstrap_cluster(layout, crds))
        timings["fleet+crds"] = time.monotonic() - t0

    def service_accounts() -> None:
        t0 = time.monotonic()
        accounts.install(layout, lambda text: kubectl(layout, "apply", "--server-side",
                                                      "--force-conflicts", "-f", "-", input_text=text))
        timings["accounts"] = time.monotonic() - t0

    def kafka_setup() -> None:
        t0 = time.monotonic()
        setup_kafka(layout)
        timings["kafka-setup"] = time.monotonic() - t0

    steps: dict[str, tuple[tuple[str, ...], Callable[[], None]]] = {
        "cluster": (("kube-apiserver",), bootstrap),
        "accounts": (("cluster",), service_accounts),
        # with Kafka skipped (LULEA_SKIP, a benchmark) there are no topics to make
        **({"kafka-setup": (("kafka",), kafka_setup)} if any(c.name == "kafka" for c in components) else {}),
        **{c.name: (c.needs, functools.partial(_start, layout, c, started, timings))
           for c in components},
    }
    try:
        _run_when_ready(steps)
    except BaseException:
        for managed in reversed(started):
            stop(managed)
        raise
    endpoints = write_endpoints(layout, tokens)
    publish_endpoints(layout)
    return {**endpoints, **counts, "timings": timings}


def _run_when_ready(steps: dict[str, tuple[tuple[str, ...], Callable[[], None]]]) -> None:
    """Run every step in its own thread once the steps it needs are done; the first failure
    stops the steps not yet begun and is raised after every running step has ended."""
    done = {name: threading.Event() for name in steps}
    failed = threading.Event()
    errors: list[BaseException] = []

    def run(name: str) -> None:
        needs, action = steps[name]
        for need in needs:
            if need in done:
                while not done[need].wait(0.1):
                    if failed.is_set():
                        return
        if failed.is_set():
            return
        try:
            action()
        except BaseException as e:
            errors.append(e)
            failed.set()
            return
        done[name].set()

    threads = [threading.Thread(target=run, args=(n,), name=f"up-{n}") for n in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def write_endpoints(layout: Layout, tokens: dict[str, str]) -> dict[str, object]:
    admin_cert, admin_key = kafka.admin_files(layout)
    endpoints: dict[str, object] = {
        "api_server": layout.api_server,
        "kubeconfig": str(layout.kubeconfig),
        "kubeconfigs": {u: str(layout.state_dir / f"kubeconfig-{u}") for u in USERS},
        "ca_file": str(layout.pki / "ca.crt"),
        "kafka_bootstrap": layout.kafka_bootstrap,
        "kafka_member_bootstrap": f"127.0.0.1:{layout.port('kafka-ssl')}",
        "kafka_admin": {"cert": str(admin_cert), "key": str(admin_key)},
        "trust_file": str(kafka.trust_file(layout)),
        "ca_url": f"https://127.0.0.1:{layout.port('ca')}",
        "ca_public_url": f"http://127.0.0.1:{layout.port('ca-public')}",
        "schema_registry_url": f"https://127.0.0.1:{layout.port('schema-registry')}",
        "placement_url": f"https://127.0.0.1:{layout.port('placement')}",
        "audit_log": str(layout.logs / "kube-apiserver-audit.log"),
        "mongo_uri": layout.mongo_uri,
        "tokens": tokens,
        "port_base": layout.port_base,
        "state_dir": str(layout.state_dir),
        "logs": str(layout.logs),
        "pod_logs": str(layout.pod_logs),
    }
    layout.endpoints_file.write_text(json.dumps(endpoints, indent=2))
    layout.endpoints_file.chmod(0o600)
    return endpoints


# Pre-assigned offsets of services other branches add (layout.PORT_OFFSETS once merged).
_LATER_PORTS = {"storage": 24, "logs-gateway": 25}


def member_endpoints(layout: Layout) -> dict[str, str]:
    """Where a member on this machine reaches the platform (what `lulea login` discovers)."""
    def port(name: str) -> int:
        return layout.port(name) if name in PORT_OFFSETS else layout.port_base + _LATER_PORTS[name]

    return {
        "kafkaBootstrap": f"127.0.0.1:{layout.port('kafka-ssl')}",
        "schemaRegistryUrl": f"https://127.0.0.1:{layout.port('schema-registry')}",
        "storageUrl": f"https://127.0.0.1:{port('storage')}",
        "logsUrl": f"https://127.0.0.1:{port('logs-gateway')}",
        "caUrl": f"https://127.0.0.1:{layout.port('ca')}",
        "ca.crt": kafka.trust_file(layout).read_text(),
    }


def publish_endpoints(layout: Layout) -> None:
    """The ConfigMap lulea-endpoints (charts/lulea/templates/endpoints.yaml) with this stack's
    loopback addresses; the chart's RBAC, applied with the accounts, lets people read it."""
    kubectl(layout, "apply", "--server-side", "--force-conflicts", "-f", "-", input_text=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "lulea-endpoints", "namespace": accounts.PLATFORM_NAMESPACE,
                     "labels": {"app.kubernetes.io/part-of": "lulea"}},
        "data": member_endpoints(layout),
    }))


def component(name: str) -> Component:
    for c in all_components():
        if c.name == name:
            return c
    raise StackError(f"no component named {name!r}")


def running(layout: Layout, name: str) -> Managed | None:
    """The component's process when this stack runs it, else None (an unknown name raises)."""
    component(name)
    return _running(layout, name)


def replica_env(layout: Layout, name: str, identity_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of another replica of a component (a second pod of its Deployment):
    the same service account and settings, its own key and certificate, `overrides` on top."""
    return {**os.environ, **component(name).env(layout), "LULEA_IDENTITY_DIR": str(identity_dir),
            **overrides}


def kill(layout: Layout, name: str, timeout: float = 10.0) -> int | None:
    """SIGKILL a component (a test's crash) and wait until it is gone; its pid, or None if it was
    not running. A process is not gone the moment the signal is sent."""
    managed = running(layout, name)
    if managed is None:
        return None
    os.kill(managed.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while managed.alive():
        if time.monotonic() > deadline:
            raise StackError(f"{name} (pid {managed.pid}) still runs {timeout:.0f}s after SIGKILL")
        time.sleep(0.02)
    return managed.pid


def start_one(layout: Layout, name: str) -> None:
    """Start one component again if it is not running (a test that killed it on purpose)."""
    _start(layout, component(name), [], {})


def down(layout: Layout) -> list[str]:
    stopped: list[str] = []
    known = [c.name for c in all_components()]
    extra = sorted(p.stem for p in layout.pids.glob("*.pid") if p.stem not in known)
    for name in [*extra, *reversed(known)]:
        managed = read_pidfile(_pidfile(layout, name))
        if managed is not None and stop(managed):
            stopped.append(name)
        _pidfile(layout, name).unlink(missing_ok=True)
    return stopped


def status(layout: Layout) -> list[Report]:
    reports = []
    for component in all_components():
        if not _enabled(component):
            continue
        if component.unavailable is not None and component.unavailable(layout) is not None:
            continue
        managed = _running(layout, component.name)
        ready = bool(managed) and component.ready(layout)
        reports.append(Report(component.name, managed.pid if managed else None, bool(managed), ready))
    return reports
