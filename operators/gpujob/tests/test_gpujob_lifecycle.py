"""assess: the job's phase and next action from its pods (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from lulea.operators.gpujob.lifecycle import Action, assess, conditions

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def job(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "j", "namespace": "p1", "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"image": "x", "gpus": 2, "hosts": 2, **spec},
    }


def pod(
    phase: str = "Pending",
    node: str | None = None,
    cond: tuple[str, str] | None = None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if cond:
        status["conditions"] = [
            {"type": "PodScheduled", "status": "False", "reason": cond[0], "message": cond[1]}
        ]
    if exit_code is not None:
        status["containerStatuses"] = [{"state": {"terminated": {"reason": "Error", "exitCode": exit_code}}}]
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": f"p-{phase}-{node}"}, "spec": spec, "status": status}


CASES = [
    ("no pods yet", {}, [], 1, "Queued", Action.CREATE),
    ("waiting", {}, [pod(), pod(cond=("Unschedulable", "not free now"))], 1, "Queued", Action.NOTHING),
    ("over quota", {}, [pod(cond=("QuotaExceeded", "uses 8 of 8")), pod()], 1, "Queued", Action.NOTHING),
    (
        "never fits",
        {"maxRetries": 3},
        [pod(cond=("NeverFits", "no node has label x=y")), pod()],
        1,
        "Failed",
        Action.STOP,
    ),
    ("placed", {}, [pod(node="n1"), pod("Running", "n2")], 1, "Placed", Action.NOTHING),
    ("running", {}, [pod("Running", "n1"), pod("Running", "n2")], 1, "Running", Action.NOTHING),
    ("succeeded", {}, [pod("Succeeded", "n1"), pod("Succeeded", "n2")], 1, "Succeeded", Action.NOTHING),
    (
        "failed, retry",
        {"maxRetries": 1},
        [pod("Failed", "n1", exit_code=3), pod("Running", "n2")],
        1,
        "Queued",
        Action.RETRY,
    ),
    (
        "failed, out of retries",
        {"maxRetries": 1},
        [pod("Failed", "n1"), pod("Running", "n2")],
        2,
        "Failed",
        Action.STOP,
    ),
    ("gang broken", {}, [pod("Running", "n1")], 1, "Failed", Action.STOP),
    ("half created", {}, [pod()], 1, "Queued", Action.CREATE),
    (
        "deadline",
        {"activeDeadlineSeconds": 10},
        [pod("Running", "n1"), pod("Running", "n2")],
        1,
        "Failed",
        Action.STOP,
    ),
]


@pytest.mark.parametrize(
    ("why", "spec", "pods", "attempt", "phase", "action"), CASES, ids=[c[0] for c in CASES]
)
def test_assess(
    why: str, spec: dict[str, Any], pods: list[dict[str, Any]], attempt: int, phase: str, action: Action
) -> None:
    verdict = assess(job(**spec), pods, attempt, now=T0 + 60)
    assert (verdict.phase, verdict.action) == (phase, action), verdict


def test_messages_carry_the_reason() -> None:
    v = assess(job(), [pod(cond=("NeverFits", "no node has label a=b")), pod()], 1, T0)
    assert v.reason == "NeverFits" and "no node has label a=b" in v.message
    v = assess(job(maxRetries=2), [pod("Failed", "n1", exit_code=3), pod()], 1, T0)
    assert "exit code 3" in v.message and "retrying" in v.message
    v = assess(job(), [pod("Running", "n2"), pod("Running", "n1")], 1, T0)
    assert v.nodes == ["n1", "n2"]


def test_conditions_keep_their_transition_time() -> None:
    v = assess(job(), [pod("Running", "n1"), pod("Running", "n2")], 1, T0)
    first = conditions(v, 1, [], "2026-01-01T00:00:00Z")
    again = conditions(v, 1, first, "2026-01-01T00:05:00Z")
    assert [c["lastTransitionTime"] for c in again] == ["2026-01-01T00:00:00Z"] * 2
    assert {c["type"]: c["status"] for c in again} == {"Ready": "True", "Placed": "True"}
