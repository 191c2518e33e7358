"""The chart's Grafana dashboard parses as a dashboard and shows only metrics the platform's
components export (their names read from the components' own registries)."""

from __future__ import annotations

import json
import re

from prometheus_client import REGISTRY, CollectorRegistry

from lulea.devstack.layout import REPO

DASHBOARD = REPO / "charts/lulea/dashboards/lulea-overview.json"


def exported() -> set[str]:
    """Every sample name the components can export (counters end in _total, histograms in
    _bucket/_sum/_count)."""
    import lulea.ca.metrics
    import lulea.core.metrics
    import lulea.schema_registry.main  # noqa: F401 - the registry's request metrics
    from lulea.placement.metrics import PlacementMetrics

    names: set[str] = set()
    registries: list[CollectorRegistry] = [REGISTRY, PlacementMetrics().registry]
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            kinds = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
            names |= {family.name + suffix for suffix in kinds.get(family.type, ())}
    return names


def test_the_dashboard_is_a_dashboard() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "lulea-overview" and board["schemaVersion"] >= 36
    assert board["panels"] and all(p["targets"] and p["gridPos"] for p in board["panels"])
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_every_metric_on_the_dashboard_is_exported_by_a_component() -> None:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = {w for e in exprs for w in re.findall(r"[a-z_]+[a-z0-9_]*", re.sub(r"\{\{.*?\}\}|\[.*?\]", "", e))
            if w.startswith(("lulea_", "schema_registry_"))}
    assert used, "the dashboard shows no metric"
    missing = used - exported()
    assert not missing, f"the dashboard queries metrics nobody exports: {sorted(missing)}"
    core = {"lulea_reconcile_total", "lulea_events_published_total", "lulea_events_consumed_total",
            "lulea_consumer_lag", "lulea_leader"}
    assert core <= used, f"the operators' own metrics are not on the dashboard: {sorted(core - used)}"
