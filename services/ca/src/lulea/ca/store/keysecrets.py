"""The hierarchy from Kubernetes Secrets (in-cluster): the root's certificate and the
intermediate's key pair, in `lulea-system`, readable only by the CA's service account."""

from __future__ import annotations

import base64

from kubernetes_asyncio import client


async def read(api: client.ApiClient, namespace: str, root: str, intermediate: str
               ) -> tuple[bytes, bytes, bytes]:
    """(root certificate, intermediate certificate, intermediate key), PEM."""
    core = client.CoreV1Api(api)

    async def field(name: str, key: str) -> bytes:
        secret = await core.read_namespaced_secret(name, namespace)
        value = (secret.data or {}).get(key)
        if value is None:
            raise ValueError(f"Secret {namespace}/{name} has no {key}")
        return base64.b64decode(value)

    return (await field(root, "tls.crt"), await field(intermediate, "tls.crt"),
            await field(intermediate, "tls.key"))
