"""The hierarchy from Kubernetes Secrets (in-cluster): the root's certificate and the
intermediate's key pair, in `lulea-system`, readable only by the CA's service account."""

from __future__ import annotations

import base64

from cryptography import x509
from kubernetes_asyncio import client

from lulea.ca.domain.hierarchy import Hierarchy, load_authority


async def load(api: client.ApiClient, namespace: str, root: str, intermediate: str) -> Hierarchy:
    core = client.CoreV1Api(api)

    async def field(name: str, key: str) -> bytes:
        secret = await core.read_namespaced_secret(name, namespace)
        value = (secret.data or {}).get(key)
        if value is None:
            raise ValueError(f"Secret {namespace}/{name} has no {key}")
        return base64.b64decode(value)

    root_cert = x509.load_pem_x509_certificate(await field(root, "tls.crt"))
    authority = load_authority(await field(intermediate, "tls.crt"), await field(intermediate, "tls.key"))
    return Hierarchy(root=root_cert, intermediate=authority)
