"""The Helm chart lints, renders, and every rendered object is accepted by the real API server;
its workloads meet Pod Security `restricted` and its RBAC has no wildcards."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import yaml

from lulea.devstack.endpoints import Stack
from lulea.devstack.layout import REPO, tool_paths


def test_chart_check_passes_against_the_api_server(stack: Stack) -> None:
    env = {**os.environ, "LULEA_STATE_DIR": str(stack.state_dir), "KUBECTL": stack.kubectl}
    result = subprocess.run(["bash", str(REPO / "dev" / "chart-check.sh")], capture_output=True,
                            text=True, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepts every rendered object" in result.stdout


def _rendered(*values: str) -> list[dict[str, Any]]:
    sets = [a for v in values for a in ("--set", v)]
    out = subprocess.run([str(tool_paths()["helm"]), "template", "lulea", str(REPO / "charts/lulea"), *sets],
                         capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_rendered_workloads_are_pod_security_restricted() -> None:
    workloads = [d for d in _rendered() if d["kind"] in ("Deployment", "DaemonSet", "StatefulSet")]
    assert workloads
    for w in workloads:
        pod = w["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, w["metadata"]["name"]
            assert sc["capabilities"]["drop"] == ["ALL"], w["metadata"]["name"]


def test_rendered_rbac_has_no_wildcards() -> None:
    for role in (d for d in _rendered() if d["kind"] in ("Role", "ClusterRole")):
        for rule in role.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{role['metadata']['name']}: {rule}"


def _storage_env(*values: str) -> dict[str, Any]:
    storage = next(d for d in _rendered(*values)
                   if d["kind"] == "Deployment" and d["metadata"]["name"] == "lulea-storage")
    return {e["name"]: e for e in storage["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_storage_is_given_a_postgresql_dsn_only_from_a_secret_when_asked() -> None:
    assert "LULEA_STORAGE_POSTGRES_DSN" not in _storage_env()
    env = _storage_env("storage.postgresDsnSecret=ferretdb-postgres")
    assert env["LULEA_STORAGE_POSTGRES_DSN"]["valueFrom"] == {
        "secretKeyRef": {"name": "ferretdb-postgres", "key": "dsn"}}
