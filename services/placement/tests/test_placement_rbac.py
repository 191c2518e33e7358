"""The chart's RBAC for the placement service grants exactly what its modules say they need."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lulea.core.kube import lease
from lulea.placement import binder, scheduler

CHART = Path(__file__).resolve().parents[3] / "charts/lulea/templates/placement/rbac.yaml"
GROUPS = {"core": "", "lulea.io": "lulea.io", "coordination.k8s.io": "coordination.k8s.io"}


def declared() -> list[tuple[str, str, set[str]]]:
    out = []
    for module in (binder, scheduler, lease):
        block = (module.__doc__ or "").split("API verbs", 1)
        assert len(block) == 2, f"{module.__name__} declares no API verbs"
        rows = re.findall(r"^\s+([\w.]+) ([\w/]+): ([\w ]+?)\s*(?:\(|$)", block[1], re.M)
        for group, resource, verbs in rows:
            out.append((GROUPS[group], resource, set(verbs.split())))
    return out


def granted() -> list[dict[str, object]]:
    text = re.sub(r"^\s*\{\{.*?\}\}\s*$", "", CHART.read_text(), flags=re.M)  # drop the if/end lines
    text = re.sub(r"\{\{.*?\}\}", "x", text)
    rules: list[dict[str, object]] = []
    for doc in yaml.safe_load_all(text):
        if doc and doc["kind"] in ("ClusterRole", "Role"):
            rules += doc["rules"]
    return rules


def test_every_declared_verb_is_granted_and_nothing_more_is() -> None:
    rules = granted()
    wanted = declared()
    assert wanted
    for group, resource, verbs in wanted:
        match = [r for r in rules if group in r["apiGroups"] and resource in r["resources"]]  # type: ignore[operator]
        assert match, f"no rule grants {group or 'core'} {resource}"
        assert verbs <= set(match[0]["verbs"]), (resource, verbs, match[0]["verbs"])  # type: ignore[arg-type]
    for rule in rules:
        for resource in rule["resources"]:  # type: ignore[attr-defined]
            assert "*" not in resource and "*" not in rule["verbs"]  # type: ignore[operator]
            needed = set().union(*(v for g, r, v in wanted if r == resource))
            assert set(rule["verbs"]) <= needed | {"get"}, (resource, rule["verbs"], needed)  # type: ignore[arg-type]
