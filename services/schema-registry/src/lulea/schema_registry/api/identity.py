"""Turning a request into a Principal.

- `Authorization: Bearer <token>`: a Kubernetes token, checked with TokenReview. Service
  accounts of the platform namespace are the platform; `system:serviceaccount:<ns>:<sa>` is a
  member of project `<ns>`; a user name `<project>__<user>` is a member of `<project>`.
- `Authorization: Basic user:token`: the password is taken as the Kubernetes token, for
  clients that only speak basic auth (Confluent's `basic.auth.user.info`).
- mTLS: uvicorn does not put the peer certificate into the ASGI scope, so the client cert is
  verified by the TLS-terminating proxy in front (Envoy/Istio) and its subject read from
  `X-Forwarded-Client-Cert` (`Subject="CN=p1__alice,..."`), only when `trust_xfcc` is set.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, Protocol

from lulea.schema_registry.domain.access import Principal
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

_XFCC_CN = re.compile(r'Subject="[^"]*?CN=([^,"]+)')


class TokenReviewer(Protocol):
    async def review(self, token: str) -> str | None:
        """The authenticated user name, or None when the token is not valid."""


class KubernetesTokenReviewer:
    def __init__(self, kubeconfig: str | None) -> None:
        self.kubeconfig = kubeconfig
        self.api: Any = None

    async def _client(self) -> Any:
        if self.api is None:
            from kubernetes_asyncio import client

            from lulea.core.kube import connect

            self.api = client.AuthenticationV1Api(await connect(self.kubeconfig))
        return self.api

    async def review(self, token: str) -> str | None:
        from kubernetes_asyncio import client

        api = await self._client()
        body = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        result = await api.create_token_review(body)
        status = result.status
        if status is None or not status.authenticated or status.user is None:
            return None
        return str(status.user.username)


def unauthorized(message: str = "Unauthorized") -> RegistryError:
    return RegistryError(ErrorCode.UNAUTHORIZED, message)


class Authenticator:
    def __init__(self, reviewer: TokenReviewer | None, *, admins: frozenset[str],
                 platform_namespace: str, trust_xfcc: bool, cache_seconds: float) -> None:
        self.reviewer = reviewer
        self.admins = admins
        self.platform_prefix = f"system:serviceaccount:{platform_namespace}:"
        self.trust_xfcc = trust_xfcc
        self.cache_seconds = cache_seconds
        self.cache: dict[str, tuple[float, Principal]] = {}

    def principal_for(self, username: str) -> Principal:
        if username.startswith(self.platform_prefix) or username in self.admins:
            return Principal(username, platform=True)
        if username.startswith("system:serviceaccount:"):
            namespace = username.split(":")[2]
            return Principal(username, project=namespace)
        return Principal.from_name(username, admins=self.admins)

    async def authenticate(self, headers: dict[str, str]) -> Principal:
        auth = headers.get("authorization", "")
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return await self._token(credentials.strip())
        if scheme.lower() == "basic" and credentials:
            try:
                _, _, password = base64.b64decode(credentials).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise unauthorized("Malformed basic credentials") from None
            return await self._token(password)
        xfcc = headers.get("x-forwarded-client-cert")
        if self.trust_xfcc and xfcc:
            match = _XFCC_CN.search(xfcc)
            if match:
                return Principal.from_name(match.group(1), admins=self.admins)
        raise unauthorized("Authentication required: a Kubernetes bearer token or a client cert")

    async def _token(self, token: str) -> Principal:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self.cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        if self.reviewer is None:
            raise unauthorized("Token authentication is not configured")
        username = await self.reviewer.review(token)
        if username is None:
            raise unauthorized("Invalid token")
        principal = self.principal_for(username)
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[key] = (now + self.cache_seconds, principal)
        return principal
