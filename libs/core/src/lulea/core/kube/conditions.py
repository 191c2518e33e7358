"""Status conditions as Kubernetes and Strimzi write them: type, status, reason, message,
lastTransitionTime (kept while the status holds) and observedGeneration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

Condition = dict[str, Any]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_: str, ok: bool, reason: str, message: str, *, generation: int | None,
              old: Sequence[Condition] | None = None, now: str | None = None) -> Condition:
    """One condition; its lastTransitionTime is the old one's while the status is unchanged."""
    status = "True" if ok else "False"
    previous = next((c for c in old or () if c.get("type") == type_), None)
    if previous is not None and previous.get("status") == status and previous.get("lastTransitionTime"):
        since = previous["lastTransitionTime"]
    else:
        since = now or now_iso()
    out: Condition = {"type": type_, "status": status, "reason": reason, "message": message,
                      "lastTransitionTime": since}
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def set_condition(conditions: Sequence[Condition] | None, new: Condition) -> list[Condition]:
    """`conditions` with `new` in place of the condition of the same type (order kept)."""
    out = [c for c in conditions or () if c.get("type") != new["type"]]
    index = next((i for i, c in enumerate(conditions or ()) if c.get("type") == new["type"]), len(out))
    out.insert(index, new)
    return out
