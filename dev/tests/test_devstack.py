"""Unit tests of the local stack's pure parts: fleet, ports, Kafka config, pid safety."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from lulea.devstack import fleet, kafka
from lulea.devstack.layout import DEV, PORT_OFFSETS, PORT_SPAN, Layout
from lulea.devstack.process import Managed, port_in_use, read_pidfile, spawn, stop


def test_default_fleet_has_the_shapes_the_gpu_tests_need() -> None:
    nodes = fleet.nodes(fleet.load(DEV / "fleet.yaml"))
    gpus = [int(n["status"]["allocatable"]["nvidia.com/gpu"]) for n in nodes]
    ib = [n for n in nodes if n["metadata"]["labels"]["lulea.io/interconnect"] == "infiniband"]
    p100_ib = [n for n in ib if n["metadata"]["labels"]["lulea.io/gpu-model"] == "p100"]
    assert sum(1 for n in ib if int(n["status"]["allocatable"]["nvidia.com/gpu"]) >= 10) >= 10
    assert len(p100_ib) >= 2 and max(gpus) >= 10
    assert len({n["metadata"]["name"] for n in nodes}) == len(nodes)
    assert all(n["spec"]["taints"] == [fleet.TAINT] for n in nodes)


@pytest.mark.parametrize("group, message", [
    ({"count": 2, "gpus": 4}, "needs a `name`"),
    ({"name": "g", "count": 0}, "needs a `name` and a `count` >= 1"),
    ({"name": "g", "count": 1, "gpus": -1}, "`gpus` must be an integer >= 0"),
])
def test_bad_node_groups_are_refused(group: dict[str, object], message: str) -> None:
    with pytest.raises(fleet.FleetError, match=message.replace("`", ".")):
        fleet.nodes([group])


def test_racks_are_assigned_round_robin() -> None:
    nodes = fleet.nodes([{"name": "g", "count": 4, "gpus": 8, "racks": ["a", "b"]}])
    assert [n["metadata"]["labels"]["lulea.io/rack"] for n in nodes] == ["a", "b", "a", "b"]


def test_ports_of_two_stacks_do_not_overlap() -> None:
    assert max(PORT_OFFSETS.values()) < PORT_SPAN
    dev, tests = Layout(Path("/a"), 20000), Layout(Path("/b"), 21000)
    assert not {dev.port(n) for n in PORT_OFFSETS} & {tests.port(n) for n in PORT_OFFSETS}


def test_kafka_has_no_listener_without_client_certificates(tmp_path: Path) -> None:
    from lulea.devstack.process import StackError

    layout = Layout(tmp_path, 30000)
    with pytest.raises(StackError, match="no certificate"):
        kafka.properties(layout)  # no broker certificate: no broker at all, never a plaintext one
    (layout.pki / "kafka").mkdir(parents=True)
    (layout.pki / "kafka" / "kafka-broker.keystore.pem").write_text("x")
    props = dict(line.split("=", 1) for line in kafka.properties(layout).splitlines() if "=" in line)
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SSL"} and "PLAINTEXT" not in props["listeners"]
    assert props["ssl.client.auth"] == "required"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:kafka-broker;User:lulea-kafka-admin"  # never ANONYMOUS


def test_stop_signals_only_the_process_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleeper.pid"
    managed = spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                    tmp_path / "sleeper.log", pidfile)
    assert read_pidfile(pidfile) == managed and managed.alive()
    # A pid file whose start time does not match (pid reused by someone else) is never signalled.
    impostor = Managed("sleeper", managed.pid, "0")
    assert not impostor.alive() and stop(impostor) is False
    assert managed.alive()
    assert stop(managed, timeout=5) is True
    deadline = time.monotonic() + 5
    while managed.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not managed.alive()


def test_port_in_use_sees_a_listening_socket() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert port_in_use(s.getsockname()[1])


def test_the_chart_carries_the_same_crds_and_admission_policy() -> None:
    from lulea.devstack.layout import REPO

    for crd in (REPO / "crds").glob("*.yaml"):
        assert (REPO / "charts/lulea/crds" / crd.name).read_text() == crd.read_text()
    policies = sorted((REPO / "crds/admission").glob("*.yaml"))
    chart = (REPO / "charts/lulea/templates/admission-policies.yaml").read_text()
    assert policies and chart == "---\n".join(p.read_text() for p in policies)


def test_steps_start_once_what_they_need_is_done_and_a_failure_stops_the_rest() -> None:
    from lulea.devstack.process import StackError
    from lulea.devstack.stack import _run_when_ready

    order: list[str] = []

    def step(name: str, delay: float = 0.0, fail: bool = False):  # type: ignore[no-untyped-def]
        def action() -> None:
            time.sleep(delay)
            if fail:
                raise StackError(f"{name} failed")
            order.append(name)
        return action

    _run_when_ready({"etcd": ((), step("etcd", 0.5)), "kafka": ((), step("kafka")),
                     "apiserver": (("etcd",), step("apiserver")),
                     "operator": (("apiserver", "kafka"), step("operator"))})
    assert order.index("etcd") < order.index("apiserver") < order.index("operator")
    assert order.index("kafka") < order.index("etcd")  # started side by side, not in sequence

    order.clear()
    with pytest.raises(StackError, match="etcd failed"):
        _run_when_ready({"etcd": ((), step("etcd", 0.3, fail=True)), "kafka": ((), step("kafka")),
                         "apiserver": (("etcd",), step("apiserver"))})
    assert order == ["kafka"]
