"""Member Secrets in project namespaces (kubernetes_asyncio). Updated in place, so a
mounted volume picks up a rotated certificate without restarting the pod."""

from __future__ import annotations

import base64

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

SERIAL_ANNOTATION = "lulea.io/serial"


class KubernetesSecrets:
    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    async def project_gone(self, project: str) -> bool:
        try:
            await self._core.read_namespace(project)
            return False
        except ApiException as exc:
            if exc.status != 404:
                raise
        try:
            body = await self._custom.get_cluster_custom_object("lulea.io", "v1alpha1", "projects", project)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return bool(body.get("metadata", {}).get("deletionTimestamp"))

    async def read_serial(self, namespace: str, name: str) -> str | None:
        try:
            secret = await self._core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        annotations = secret.metadata.annotations or {}
        return annotations.get(SERIAL_ANNOTATION)

    async def put(
        self,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> None:
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations),
            type="Opaque",
            data={k: base64.b64encode(v).decode() for k, v in data.items()},
        )
        try:
            await self._core.create_namespaced_secret(namespace, body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            await self._core.replace_namespaced_secret(name, namespace, body)

    async def delete(self, namespace: str, name: str) -> None:
        try:
            await self._core.delete_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status != 404:  # already gone is success
                raise
