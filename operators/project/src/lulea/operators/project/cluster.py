"""The few Kubernetes calls the Project operator makes, as server-side apply, create, get and
delete.

Server-side apply with one field manager makes every write idempotent: applying the same
manifest twice changes nothing, and a half-finished reconcile is finished by the next one.
A brand-new project's objects are created (POST) instead, which costs the API server less
(`bench/projects`); AlreadyExists falls back to apply. NotFound on delete is success.
"""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.operators.project.plan import MANAGER, Manifest

# kind -> (API prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ResourceQuota": ("/api/v1", "resourcequotas", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
}



def _path(kind: str, name: str | None, namespace: str | None) -> str:
    prefix, plural, namespaced = KINDS[kind]
    path = prefix
    if namespaced:
        if not namespace:
            raise ValueError(f"{kind} {name} needs a namespace")
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    return f"{path}/{name}" if name else path


class Cluster:
    def __init__(self, api: k8s.ApiClient) -> None:
        self.api = api

    async def _call(self, method: str, path: str, body: Any = None,
                    query: list[tuple[str, str]] | None = None,
                    content_type: str = "application/json") -> Any:
        return await self.api.call_api(
            path, method, query_params=query or [], body=body,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            response_types_map={200: "object", 201: "object", 202: "object"},
            auth_settings=["BearerToken"], _return_http_data_only=True,
        )

    async def apply(self, manifest: Manifest) -> Manifest:
        meta = manifest["metadata"]
        result: Manifest = await self._call(
            "PATCH", _path(manifest["kind"], meta["name"], meta.get("namespace")), body=manifest,
            query=[("fieldManager", MANAGER), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )
        return result

    async def create(self, manifest: Manifest) -> Manifest:
        """POST, with the same field manager; an object that already exists is applied instead.

        Only for objects whose later applies set every field they ever set: fields a POST wrote
        belong to an Update entry of the manager, and an apply that leaves one out would not
        remove it (list-valued fields such as subjects, rules and policy rules are atomic and
        always replaced whole; a map whose keys come and go, as a quota's `hard`, must be
        applied)."""
        meta = manifest["metadata"]
        try:
            result: Manifest = await self._call(
                "POST", _path(manifest["kind"], None, meta.get("namespace")), body=manifest,
                query=[("fieldManager", MANAGER)])
            return result
        except ApiException as e:
            if e.status != 409:
                raise
        return await self.apply(manifest)

    async def get(self, kind: str, name: str, namespace: str | None = None) -> Manifest | None:
        try:
            result: Manifest = await self._call("GET", _path(kind, name, namespace))
            return result
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    async def list(self, kind: str, namespace: str | None = None,
                   label_selector: str | None = None) -> list[Manifest]:
        query = [("labelSelector", label_selector)] if label_selector else []
        result = await self._call("GET", _path(kind, None, namespace), query=query)
        items: list[Manifest] = result.get("items") or []
        return items

    async def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """True if something was deleted; NotFound is success."""
        try:
            await self._call("DELETE", _path(kind, name, namespace),
                             body={"propagationPolicy": "Background"})
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise
