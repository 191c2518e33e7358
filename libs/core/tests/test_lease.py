"""Leader election on a Lease, against an in-memory API server that does compare-and-set."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lulea.core.kube.lease import LeaderLease, LeaseTiming
from lulea.core.kube.raw import KubeError

PATH = "/apis/coordination.k8s.io/v1/namespaces/lulea-system/leases"
TIMING = LeaseTiming(lease_seconds=15, renew_deadline_seconds=10, retry_seconds=2)


class FakeApi:
    """GET / POST / PUT of Leases with resourceVersion checks, like the API server."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.down = False

    async def request(self, method: str, path: str, body: Any = None, **_: Any) -> dict[str, Any]:
        if self.down:
            raise OSError("connection refused")
        if method == "GET":
            name = path.rsplit("/", 1)[1]
            if name not in self.leases:
                raise KubeError(404, "not found")
            return copy.deepcopy(self.leases[name])
        name = body["metadata"]["name"]
        if method == "POST":
            if name in self.leases:
                raise KubeError(409, "already exists")
        elif method == "PUT":
            held = self.leases.get(name)
            if held is None:
                raise KubeError(404, "not found")
            if body["metadata"].get("resourceVersion") != held["metadata"]["resourceVersion"]:
                raise KubeError(409, "the object has been modified")
        self.version += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.leases[name] = stored
        return copy.deepcopy(stored)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica(api: FakeApi, clock: Clock, who: str) -> LeaderLease:
    return LeaderLease(api, "lulea-system", "lulea-placement", who, TIMING, clock=clock, wall=clock)  # type: ignore[arg-type]


@pytest.fixture
def world() -> tuple[FakeApi, Clock]:
    return FakeApi(), Clock()


async def test_the_first_replica_leads_and_the_second_stands_by(world: tuple[FakeApi, Clock]) -> None:
    api, clock = world
    a, b = replica(api, clock, "a"), replica(api, clock, "b")
    assert await a.try_acquire_or_renew() and a.is_leader
    assert not await b.try_acquire_or_renew() and not b.is_leader
    spec = api.leases["lulea-placement"]["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15


async def test_a_renewing_leader_is_never_displaced(world: tuple[FakeApi, Clock]) -> None:
    api, clock = world
    a, b = replica(api, clock, "a"), replica(api, clock, "b")
    await a.try_acquire_or_renew()
    for _ in range(30):  # a minute of renewals every 2 s, b trying every time
        clock.now += 2
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
    assert api.leases["lulea-placement"]["spec"]["holderIdentity"] == "a"


async def test_a_silent_leader_is_replaced_once_the_lease_runs_out_by_the_standbys_clock(
    world: tuple[FakeApi, Clock],
) -> None:
    api, clock = world
    a, b = replica(api, clock, "a"), replica(api, clock, "b")
    await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()  # b first sees the record now
    clock.now += 14
    assert not await b.try_acquire_or_renew()  # 14 s without a change: not yet
    clock.now += 1.5
    assert await b.try_acquire_or_renew() and b.is_leader
    spec = api.leases["lulea-placement"]["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert not a.is_leader  # a's renew deadline passed long ago
    assert not await a.try_acquire_or_renew()  # and it does not take the lease back


async def test_a_leader_cut_off_from_the_api_server_stops_leading_before_the_lease_ends(
    world: tuple[FakeApi, Clock],
) -> None:
    api, clock = world
    a = replica(api, clock, "a")
    await a.try_acquire_or_renew()
    api.down = True
    clock.now += 9
    assert not await a.try_acquire_or_renew() and a.is_leader  # within the renew deadline
    clock.now += 1
    assert not a.is_leader  # 10 s: it stops binding, 5 s before anyone may take over


async def test_a_released_lease_is_taken_at_the_next_try(world: tuple[FakeApi, Clock]) -> None:
    api, clock = world
    a, b = replica(api, clock, "a"), replica(api, clock, "b")
    await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    await a.release()
    assert not a.is_leader
    clock.now += 2
    assert await b.try_acquire_or_renew()


async def test_two_standbys_racing_for_an_expired_lease_get_one_leader(world: tuple[FakeApi, Clock]) -> None:
    api, clock = world
    a, b, c = replica(api, clock, "a"), replica(api, clock, "b"), replica(api, clock, "c")
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    await c.try_acquire_or_renew()
    clock.now += 16
    lease_seen_by_c = await api.request("GET", f"{PATH}/lulea-placement")
    assert await b.try_acquire_or_renew()
    # c read the same expired record before b wrote: its write carries the old resourceVersion
    body = c._body(lease_seen_by_c, transitions=1)
    with pytest.raises(KubeError) as conflict:
        await api.request("PUT", f"{PATH}/lulea-placement", body=body)
    assert conflict.value.status == 409
    assert not await c.try_acquire_or_renew()  # and a fresh read shows b holding it
    assert api.leases["lulea-placement"]["spec"]["holderIdentity"] == "b"


@pytest.mark.parametrize(
    ("timing", "word"),
    [
        (dict(lease_seconds=15, renew_deadline_seconds=20, retry_seconds=2), "renew_deadline_seconds"),
        (dict(lease_seconds=15, renew_deadline_seconds=10, retry_seconds=10), "retry_seconds"),
        (dict(lease_seconds=0, renew_deadline_seconds=0, retry_seconds=0), "lease_seconds"),
    ],
)
def test_lease_timings_out_of_order_are_refused(timing: dict[str, float], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        LeaseTiming(**timing)
