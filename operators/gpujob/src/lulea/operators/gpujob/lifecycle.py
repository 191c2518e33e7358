"""Where a GpuJob is, from its spec, its status and its gang's pods: a pure function.

Queued -> Placed (every pod bound) -> Running (every pod running) -> Succeeded (every pod
succeeded) or Failed (a pod failed with no retries left, the gang can never fit, the
deadline passed). A failed attempt with retries left starts a new gang (attempt + 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lulea.core import gangs
from lulea.core.kube import condition
from lulea.operators.gpujob.gang import gang_shape

Obj = dict[str, Any]
TERMINAL = frozenset({"Succeeded", "Failed"})


class Action(StrEnum):
    NOTHING = "Nothing"
    CREATE = "CreatePods"  # create the gang's missing pods (none bound yet)
    RETRY = "Retry"  # delete this gang, create the next attempt's
    STOP = "Stop"  # delete what still runs or waits; the job is over


@dataclass(frozen=True)
class Verdict:
    phase: str
    reason: str
    message: str
    action: Action = Action.NOTHING
    nodes: list[str] = field(default_factory=list)


def timestamp(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _scheduled(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "PodScheduled":
            return cond  # type: ignore[no-any-return]
    return None


def _why_failed(pod: Obj) -> str:
    for st in (pod.get("status") or {}).get("containerStatuses") or ():
        term = (st.get("state") or {}).get("terminated")
        if term:
            why, code = term.get("reason", "Error"), term.get("exitCode")
            return f"pod {pod['metadata']['name']} failed: {why} (exit code {code})"
    return f"pod {pod['metadata']['name']} failed"


def _give_up_or_retry(job: Obj, attempt: int, reason: str, message: str) -> Verdict:
    retries = int(job["spec"].get("maxRetries", 0))
    if attempt <= retries:
        return Verdict(
            "Queued", reason, f"{message}; retrying ({attempt} of {retries} retries used)", Action.RETRY
        )
    suffix = f" after {attempt} attempts" if attempt > 1 else ""
    return Verdict("Failed", reason, message + suffix, Action.STOP)


def assess(job: Obj, pods: list[Obj], attempt: int, now: float) -> Verdict:
    """The job's phase for this attempt's pods, and what to do about it."""
    spec, meta = job["spec"], job["metadata"]
    size, _ = gang_shape(spec)
    deadline = spec.get("activeDeadlineSeconds")
    created = timestamp(meta.get("creationTimestamp"))
    if deadline and created is not None and now - created > int(deadline):
        return Verdict(
            "Failed",
            "DeadlineExceeded",
            f"the job ran past its activeDeadlineSeconds ({deadline}s)",
            Action.STOP,
        )
    for pod in pods:
        cond = _scheduled(pod)
        if cond and cond.get("status") == "False" and cond.get("reason") == gangs.NEVER_FITS:
            return Verdict(
                "Failed",
                gangs.NEVER_FITS,
                f"the job can never fit this cluster: {cond.get('message', '')}",
                Action.STOP,
            )
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    nodes = sorted({n for p in pods if (n := (p.get("spec") or {}).get("nodeName"))})
    failed = [p for p, ph in zip(pods, phases, strict=True) if ph == "Failed"]
    if failed:
        return _give_up_or_retry(job, attempt, "PodFailed", _why_failed(failed[0]))
    if len(pods) == size and all(ph == "Succeeded" for ph in phases):
        return Verdict("Succeeded", "Completed", f"all {size} pods succeeded", nodes=nodes)
    if len(pods) < size:
        if nodes or "Succeeded" in phases:  # part of a placed gang vanished: it is broken
            return _give_up_or_retry(
                job, attempt, "GangBroken", f"{size - len(pods)} of {size} pods vanished after placement"
            )
        return Verdict("Queued", "Creating", f"creating {size} pods", Action.CREATE)
    if len(nodes) and all((p.get("spec") or {}).get("nodeName") for p in pods):
        if all(ph in ("Running", "Succeeded") for ph in phases):
            return Verdict("Running", "Running", f"{size} pods running on {len(nodes)} nodes", nodes=nodes)
        return Verdict("Placed", "Placed", f"{size} pods placed on {len(nodes)} nodes", nodes=nodes)
    waiting = next((cond for p in pods if (cond := _scheduled(p)) and cond.get("status") == "False"), None)
    if waiting:
        return Verdict("Queued", str(waiting.get("reason", "Waiting")), str(waiting.get("message", "")))
    return Verdict("Queued", "Waiting", f"waiting for the scheduler to place {size} pods")


def conditions(verdict: Verdict, generation: int, old: list[Obj], now_iso: str) -> list[Obj]:
    """Ready (True while running or done) and Placed, keeping transition times that hold."""
    ready = verdict.phase in ("Running", "Succeeded")
    placed = verdict.phase in ("Placed", "Running", "Succeeded")
    want = [
        ("Ready", ready, verdict.reason, verdict.message),
        (
            "Placed",
            placed,
            "Placed" if placed else verdict.reason,
            "every pod of the gang is bound" if placed else verdict.message,
        ),
    ]
    return [condition(kind, flag, reason, message, generation=generation, old=old, now=now_iso)
            for kind, flag, reason, message in want]
