"""Placement's side of leader election: settings refused at start, and what a change of leader
does to the scheduler's cache (the Lease itself is tested in lulea.core)."""

from __future__ import annotations

from typing import Any

import pytest

from lulea.placement.metrics import PlacementMetrics
from lulea.placement.scheduler import Scheduler
from lulea.placement.settings import PlacementSettings


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"LULEA_PLACEMENT_RENEW_DEADLINE_SECONDS": "20"}, "renew_deadline_seconds < lease_seconds"),
        ({"LULEA_PLACEMENT_RETRY_SECONDS": "10"}, "retry_seconds < renew_deadline_seconds"),
    ],
)
def test_lease_timings_out_of_order_are_refused_at_start(
    env: dict[str, str], word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=word.split(" < ")[0]):
        PlacementSettings()


_NO_API: Any = object()  # the cache logic under test makes no API call


def test_a_change_of_leader_forgets_binds_assumed_but_never_seen() -> None:
    s = Scheduler(_NO_API, PlacementSettings(), PlacementMetrics())
    s.cache.reset_nodes([{"metadata": {"name": "n1"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}}])
    s.cache.assume("p1", {"a": "n1", "b": "n1"}, 4, now=0)
    assert s.cache.state.free("n1") == 0
    s._leadership_changed()
    assert s.cache.state.free("n1") == 8 and not s.cache.assumed
    assert s.wake.is_set() and s.metrics.leader._value.get() == 0  # not leading yet
