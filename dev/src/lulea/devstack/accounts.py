"""Every platform component runs under its own ServiceAccount, bound to exactly the chart's RBAC,
locally as in a cluster.

`install` renders the chart (helm template, the same chart `helm install` uses), applies its
ServiceAccounts, Roles, ClusterRoles and bindings (never a second copy of them), and then does
what the kubelet does for a pod: asks the TokenRequest API for two tokens per account, one
for the API server (in the component's kubeconfig) and one bound to the audience `lulea`
(for Lulea's own services, which refuse an API-server token). A component that lacks a verb
fails locally as it would in a cluster.
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from lulea.devstack.layout import REPO, Layout
from lulea.devstack.process import StackError

PLATFORM_NAMESPACE = "lulea-system"
AUDIENCE = "lulea"
RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
TOKEN_SECONDS = 30 * 24 * 3600  # a month: `make up` asks again each time it runs
# component of the stack -> its ServiceAccount in the chart
ACCOUNTS = {
    "operator-project": "lulea-operator-project",
    "operator-gpujob": "lulea-operator-gpujob",
    "ca": "lulea-ca",
    "schema-registry": "lulea-schema-registry",
    "placement": "lulea-placement",
    "operator-topic": "lulea-operator-topic",
    "storage": "lulea-storage",
    "operator-dataset": "lulea-operator-dataset",
    "logs-collector": "lulea-logs-collector",
    "logs-indexer": "lulea-logs-indexer",
    "logs-gateway": "lulea-logs-gateway",
}


@dataclass(frozen=True)
class Account:
    """Where one component's credentials are, as a pod would have them mounted."""

    component: str
    service_account: str
    directory: Path

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def api_token(self) -> Path:
        return self.directory / "token"

    @property
    def lulea_token(self) -> Path:
        return self.directory / "token-lulea"

    @property
    def identity_dir(self) -> Path:
        return self.directory / "identity"

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{PLATFORM_NAMESPACE}:{self.service_account}"


def account(layout: Layout, component: str) -> Account:
    return Account(component, ACCOUNTS[component], layout.state_dir / "components" / component)


def render_chart(layout: Layout, *values: str) -> list[dict[str, Any]]:
    """The chart's objects, as `helm template` renders them for the local stack."""
    argv = [str(layout.tools["helm"]), "template", "lulea", str(REPO / "charts" / "lulea"),
            "--namespace", PLATFORM_NAMESPACE, *[a for v in values for a in ("--set", v)]]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"helm template failed: {result.stderr.strip()[-300:]}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def rbac_objects(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in rendered if d.get("kind") in RBAC_KINDS]


def _kubeconfig(layout: Layout, acct: Account) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "lulea-local", "cluster": {
            "server": layout.api_server, "certificate-authority": str(layout.pki / "ca.crt")}}],
        "users": [{"name": acct.service_account, "user": {"tokenFile": str(acct.api_token)}}],
        "contexts": [{"name": acct.component,
                      "context": {"cluster": "lulea-local", "user": acct.service_account,
                                  "namespace": PLATFORM_NAMESPACE}}],
        "current-context": acct.component,
    }


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


def request_token(api: httpx.Client, service_account: str, audiences: list[str] | None) -> str:
    spec: dict[str, Any] = {"expirationSeconds": TOKEN_SECONDS}
    if audiences:
        spec["audiences"] = audiences
    answer = api.post(f"/api/v1/namespaces/{PLATFORM_NAMESPACE}/serviceaccounts/{service_account}/token",
                      json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    if answer.status_code != 201:
        raise StackError(f"token for {service_account}: {answer.status_code} {answer.text[:200]}")
    return str(answer.json()["status"]["token"])


def hierarchy_secrets(layout: Layout) -> list[dict[str, Any]]:
    """The CA's Secrets, as a platform team creates them before `helm install` (docs/ca.md):
    the root's certificate, and the intermediate's key pair. The root's key stays outside."""
    keys = layout.pki / "lulea-ca"

    def secret(name: str, files: dict[str, str]) -> dict[str, Any]:
        data = {key: base64.b64encode((keys / f).read_bytes()).decode() for key, f in files.items()}
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": PLATFORM_NAMESPACE}, "data": data}

    return [secret("lulea-ca-root", {"tls.crt": "root.crt"}),
            secret("lulea-ca-intermediate", {"tls.crt": "intermediate.crt", "tls.key": "intermediate.key"})]


def install(layout: Layout, apply: Any) -> list[Account]:
    """Apply the CA's Secrets and the chart's RBAC; give each component its kubeconfig and tokens."""
    objects = rbac_objects(render_chart(layout))
    apply(yaml.safe_dump_all([*hierarchy_secrets(layout), *objects]))
    token = json.loads((layout.pki / "tokens.json").read_text())["admin"]
    accounts = [account(layout, c) for c in ACCOUNTS]
    with httpx.Client(base_url=layout.api_server, verify=str(layout.pki / "ca.crt"),
                      headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        for acct in accounts:
            _write(acct.api_token, request_token(api, acct.service_account, None))
            _write(acct.lulea_token, request_token(api, acct.service_account, [AUDIENCE]))
            _write(acct.kubeconfig, yaml.safe_dump(_kubeconfig(layout, acct)))
            acct.identity_dir.mkdir(parents=True, exist_ok=True)
    return accounts
