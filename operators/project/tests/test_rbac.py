"""The chart grants the Project operator exactly the verbs its code says it needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from lulea.operators.project import rbac

CHART = Path(__file__).resolve().parents[3] / "charts/lulea/templates/operator-project/rbac.yaml"


def _chart_rules() -> list[dict[str, object]]:
    text = "\n".join(line for line in CHART.read_text().splitlines() if "{{" not in line)
    role = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "ClusterRole")
    return list(role["rules"])


def test_chart_rules_equal_the_declared_verbs() -> None:
    granted: dict[tuple[str, str], tuple[str, ...]] = {}
    named: list[dict[str, object]] = []
    for rule in _chart_rules():
        if "resourceNames" in rule:
            named.append(rule)
            continue
        for group in rule["apiGroups"]:  # type: ignore[attr-defined]
            for resource in rule["resources"]:  # type: ignore[attr-defined]
                assert (group, resource) not in granted, f"{group}/{resource} granted twice"
                granted[group, resource] = tuple(rule["verbs"])  # type: ignore[arg-type]
    assert granted == rbac.RULES
    by_names = {tuple(r["resourceNames"]): tuple(r["verbs"]) for r in named}  # type: ignore[arg-type]
    assert by_names == {rbac.SHARED_ROLE_NAMES: rbac.SHARED_ROLE_VERBS,
                        rbac.CA_ROLE_NAMES: rbac.CA_ROLE_VERBS}


def test_no_wildcards() -> None:
    for rule in _chart_rules():
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key]  # type: ignore[operator]
