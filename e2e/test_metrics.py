"""Every operator and service exports its metrics, and they move when the platform works:
curl on each /metrics before and after a Project's life and a GpuJob."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

from kubernetes_asyncio import client as k8s

from lulea.devstack.endpoints import Stack

from .projects import create_project, delete_project, set_members, unique, wait_ready

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>[-+0-9.eE]+|NaN)$', re.M)


def scrape(url: str, trust: Path | None = None) -> dict[tuple[str, str], float]:
    """curl's view of a /metrics page: (name, labels) -> value."""
    argv = ["curl", "-sf", url] + (["--cacert", str(trust)] if trust else [])
    page = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=10).stdout
    return {(m["name"], m["labels"] or ""): float(m["value"]) for m in SAMPLE.finditer(page)}


def total(samples: dict[tuple[str, str], float], name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, ls), v in samples.items() if n == name and all(w in ls for w in want))


async def test_the_operators_and_services_counters_move(stack: Stack, admin_api: k8s.ApiClient) -> None:
    layout = stack.layout
    urls = {
        "operator-project": (f"http://127.0.0.1:{layout.port('operator-project')}/metrics", None),
        "operator-gpujob": (f"http://127.0.0.1:{layout.port('operator-gpujob')}/metrics", None),
        "ca": (f"{stack.ca_url}/metrics", stack.trust_file),
        "placement": (f"{stack.placement_url}/metrics", stack.trust_file),
    }
    before = {name: await asyncio.to_thread(scrape, *where) for name, where in urls.items()}
    project = unique("metrics")
    await create_project(admin_api, project, [("alice", "DataOwner")])
    try:
        await wait_ready(admin_api, project)
        await set_members(admin_api, project, [("alice", "DataOwner"), ("bob", "DataScientist")])
        await wait_ready(admin_api, project)
        job = {"apiVersion": "lulea.io/v1alpha1", "kind": "GpuJob",
               "metadata": {"name": "m", "annotations": {"sim.lulea.io/outcome": "Succeeded",
                                                         "sim.lulea.io/duration": "1s"}},
               "spec": {"image": "x", "gpus": 1}}
        custom = k8s.CustomObjectsApi(admin_api)
        await custom.create_namespaced_custom_object("lulea.io", "v1alpha1", project, "gpujobs", job)
        async def phase() -> str | None:
            got = await custom.get_namespaced_custom_object("lulea.io", "v1alpha1", project, "gpujobs", "m")
            return (got.get("status") or {}).get("phase")

        async with asyncio.timeout(90):
            while await phase() not in ("Succeeded", "Failed"):
                await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # the CA's converges and the consumer's lag settle
        after = {name: await asyncio.to_thread(scrape, *where) for name, where in urls.items()}
    finally:
        await delete_project(admin_api, project)

    def moved(component: str, name: str, **labels: str) -> float:
        return total(after[component], name, **labels) - total(before[component], name, **labels)

    assert moved("operator-project", "lulea_reconcile_total", kind="Project", outcome="ok") >= 2
    assert moved("operator-project", "lulea_reconcile_duration_seconds_count", kind="Project") >= 2
    assert moved("operator-project", "lulea_events_published_total", topic="lulea.events.project") >= 3
    assert total(after["operator-project"], "lulea_leader") == 1
    assert moved("operator-gpujob", "lulea_reconcile_total", kind="GpuJob", outcome="ok") >= 1
    assert moved("operator-gpujob", "lulea_events_published_total", topic="lulea.events.gpujob") >= 2
    assert moved("ca", "lulea_events_consumed_total", topic="lulea.events.project", outcome="handled") >= 3
    assert moved("ca", "lulea_ca_certificates_issued_total", profile="member") >= 2
    assert moved("ca", "lulea_events_published_total", topic="lulea.events.ca") >= 2
    assert any(n == "lulea_consumer_lag" and 'group="lulea-ca"' in ls for n, ls in after["ca"])
    assert moved("placement", "lulea_placement_pods_bound_total") >= 1
