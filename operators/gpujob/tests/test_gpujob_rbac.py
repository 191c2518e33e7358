"""The chart's ClusterRole grants exactly the verbs reconcile.py says it needs."""

from __future__ import annotations

import re
from pathlib import Path

from lulea.operators.gpujob import reconcile

CHART = Path(__file__).resolve().parents[3] / "charts/lulea/templates/operator-gpujob/rbac.yaml"


def test_chart_rbac_covers_the_declared_verbs() -> None:
    text = CHART.read_text()
    declared = re.findall(r"^\s+(?:lulea\.io|core) ([\w/]+): ([\w ]+?)(?:;|$)", reconcile.__doc__ or "", re.M)
    assert declared
    for resource, verbs in declared:
        rule = re.search(rf"resources: \[{re.escape(resource)}\]\n\s+verbs: \[([^\]]+)\]", text)
        assert rule, f"no rule for {resource}"
        granted = {v.strip() for v in rule.group(1).split(",")}
        assert set(verbs.split()) <= granted, (resource, verbs, granted)
