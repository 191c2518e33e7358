"""Pure decisions of the Dataset operator: where a dataset lives, its quota parameters, each
share's state, and which Events a change of state deserves (Hopsworks' share handshake)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lulea.core.crds.share import share_accepted

RETAIN = "lulea.io/retain-data"
ABANDON = "lulea.io/abandon-data"


def root_path(project: str, dataset: str) -> str:
    return f"/Projects/{project}/{dataset}"


def quota_params(spec: Mapping[str, Any]) -> dict[str, str]:
    """SETQUOTA parameters; -1 clears a limit (HDFS's convention)."""
    quota = spec.get("quota") or {}
    files, nbytes = quota.get("files"), quota.get("bytes")
    return {"namespacequota": str(-1 if files is None else files),
            "storagespacequota": str(-1 if nbytes is None else nbytes)}


def share_states(project: str, dataset: str, spec: Mapping[str, Any],
                 targets: Mapping[str, Mapping[str, Any] | None]) -> list[dict[str, str]]:
    """Each offered share: Accepted once the target Project lists it in acceptedShares."""
    out = []
    for share in spec.get("shares") or []:
        target = targets.get(share["project"])
        accepted = ((target or {}).get("spec") or {}).get("acceptedShares") or []
        state = "Accepted" if target is not None and share_accepted(accepted, project, dataset) else "Pending"
        out.append({"project": share["project"], "access": share.get("access") or "ReadOnly", "state": state})
    return out


def share_events(before: list[dict[str, str]], after: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(reason, message) for each share offered, accepted or withdrawn since the last status."""
    return [(reason, message) for reason, message, _ in share_changes(before, after)]


def share_changes(before: list[dict[str, str]], after: list[dict[str, str]]
                  ) -> list[tuple[str, str, dict[str, str]]]:
    """(reason, message, share) for each share offered, accepted or withdrawn."""
    old = {s["project"]: s for s in before}
    new = {s["project"]: s for s in after}
    events = []
    for name, share in new.items():
        if name not in old:
            events.append(("DatasetShared", f"offered to project {name} ({share['access']})", share))
        if share["state"] == "Accepted" and (name not in old or old[name]["state"] != "Accepted"):
            events.append(("DatasetShareAccepted", f"project {name} accepted the share", share))
    for name in sorted(old.keys() - new.keys()):
        events.append(("DatasetUnshared", f"no longer shared with project {name}", old[name]))
    return events


def retained(annotations: Mapping[str, str]) -> bool:
    return str(annotations.get(RETAIN, "")).lower() == "true"


def abandoned(annotations: Mapping[str, str]) -> bool:
    return str(annotations.get(ABANDON, "")).lower() == "true"
