"""One scheduling cycle over the queue: priority then age, per-project GPU quotas, backfill,
and a reservation that stops backfill from starving the gang that has waited too long."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lulea.placement.domain.cluster import ClusterState
from lulea.placement.domain.fit import NoFit, Placement, never_fits, place, reserve
from lulea.placement.domain.gang import Gang


@dataclass(frozen=True, slots=True)
class Reservation:
    gang_id: str
    held: Mapping[str, int]  # node -> GPUs kept for the gang


@dataclass(slots=True)
class CyclePlan:
    placed: list[tuple[Gang, Placement]] = field(default_factory=list)
    never: list[tuple[Gang, str]] = field(default_factory=list)
    waiting: list[tuple[Gang, NoFit]] = field(default_factory=list)
    reservation: Reservation | None = None


def queue_order(gangs: Iterable[Gang]) -> list[Gang]:
    """Higher priority first, then the oldest, then by id so the order is total."""
    return sorted(gangs, key=lambda g: (-g.priority, g.created, g.id))


def _held_valid(res: Reservation, state: ClusterState) -> bool:
    return all(n in state.nodes and state.nodes[n].schedulable for n in res.held)


def plan_cycle(
    gangs: Iterable[Gang],
    state: ClusterState,
    *,
    quotas: Mapping[str, int | None],
    now: float,
    reserve_after: float,
    reservation: Reservation | None = None,
) -> CyclePlan:
    """Decide, without I/O, which queued gangs to place now on `state` (which is not modified).

    A gang blocked by its project's quota waits without blocking anyone. The first gang
    that cannot fit and has waited `reserve_after` seconds gets a reservation: GPUs on the
    nodes closest to fitting it are no longer offered to the gangs behind it, so smaller
    gangs backfill only around it. Gangs ahead of it in priority still may use them.
    """
    ordered = queue_order(gangs)
    ids = {g.id for g in ordered}
    if reservation is not None and (reservation.gang_id not in ids or not _held_valid(reservation, state)):
        reservation = None
    plan = CyclePlan()
    work = state.copy()
    usage = state.usage_by_namespace()
    held: Mapping[str, int] = {}
    never_cache: dict[tuple[object, ...], str | None] = {}
    failed: set[tuple[object, ...]] = set()  # shapes that did not fit under the current `held`
    for gang in ordered:
        quota = quotas.get(gang.project)
        key = (*gang.shape, quota)
        if key not in never_cache:
            never_cache[key] = never_fits(gang, state, quota)
        if (reason := never_cache[key]) is not None:
            plan.never.append((gang, reason))
            continue
        if quota is not None and usage.get(gang.namespace, 0) + gang.gpus > quota:
            msg = (
                f"project {gang.project} uses {usage.get(gang.namespace, 0)} of its {quota} "
                f"GPUs; the job needs {gang.gpus} more"
            )
            plan.waiting.append((gang, NoFit("QuotaExceeded", msg)))
            continue
        is_reserved = reservation is not None and reservation.gang_id == gang.id
        result: Placement | NoFit
        if gang.shape in failed and not is_reserved:
            result = NoFit("Unschedulable", f"waiting for {gang.describe()}: not free now")
        else:
            result = place(gang, work, None if is_reserved else held)
        if isinstance(result, Placement):
            for _, node in result.assignments:
                work.used[node] = work.used.get(node, 0) + gang.gpus_per_pod
            usage[gang.namespace] = usage.get(gang.namespace, 0) + gang.gpus
            plan.placed.append((gang, result))
            if is_reserved:
                reservation = None
            continue
        failed.add(gang.shape)
        plan.waiting.append((gang, result))
        if is_reserved and reservation is not None:
            held = reservation.held
            failed.clear()
        elif reservation is None and not held and now - gang.created >= reserve_after:
            chosen = reserve(gang, work)
            if chosen:
                reservation = Reservation(gang.id, chosen)
                held = chosen
                failed.clear()
    plan.reservation = reservation
    return plan
