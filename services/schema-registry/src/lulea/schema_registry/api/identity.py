"""Turning a request into a Principal.

- mTLS: a member's client certificate (`CN=<project>__<user>`), verified at the handshake
  against the platform root (lulea.core.tls puts it in the ASGI scope) and checked here
  against the CA's current CRL: a revoked certificate is refused within about a second.
- `Authorization: Bearer <token>`: a Kubernetes token bound to the audience `lulea`, checked
  with TokenReview (an API-server token is refused). Service accounts of the platform
  namespace are the platform; `system:serviceaccount:<ns>:<sa>` is a member of project `<ns>`.
- `Authorization: Basic user:token`: the password is taken as the token, for clients that only
  speak basic auth (Confluent's `basic.auth.user.info`).
- `X-Forwarded-Client-Cert` (`Subject="CN=p1__alice,..."`): believed only when the request
  comes from one of the configured proxy addresses (a TLS-terminating Envoy/Istio in front);
  from anyone else the header is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any, Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from lulea.core.auth.crl import CrlUnavailable, CrlWatcher
from lulea.schema_registry.domain.access import Principal
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

_XFCC_CN = re.compile(r'Subject="[^"]*?CN=([^,"]+)')


class TokenReviewer(Protocol):
    async def review(self, token: str) -> str | None:
        """The authenticated user name, or None when the token is not valid."""


class KubernetesTokenReviewer:
    def __init__(self, kubeconfig: str | None, audiences: tuple[str, ...]) -> None:
        self.kubeconfig, self.audiences = kubeconfig, audiences
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
        spec = client.V1TokenReviewSpec(token=token, audiences=list(self.audiences))
        body = client.V1TokenReview(spec=spec)
        result = await api.create_token_review(body)
        status = result.status
        if status is None or not status.authenticated or status.user is None:
            return None
        return str(status.user.username)


def unauthorized(message: str = "Unauthorized") -> RegistryError:
    return RegistryError(ErrorCode.UNAUTHORIZED, message)


class Authenticator:
    def __init__(self, reviewer: TokenReviewer | None, *, admins: frozenset[str],
                 platform_namespace: str, xfcc_proxies: tuple[IPv4Network | IPv6Network, ...] = (),
                 cache_seconds: float, crl: CrlWatcher | None = None) -> None:
        self.reviewer = reviewer
        self.admins = admins
        self.platform_prefix = f"system:serviceaccount:{platform_namespace}:"
        self.xfcc_proxies = xfcc_proxies
        self.cache_seconds = cache_seconds
        self.crl = crl
        self.cache: dict[str, tuple[float, Principal]] = {}

    def principal_for(self, username: str) -> Principal:
        if username.startswith(self.platform_prefix) or username in self.admins:
            return Principal(username, platform=True)
        if username.startswith("system:serviceaccount:"):
            namespace = username.split(":")[2]
            return Principal(username, project=namespace)
        return Principal.from_name(username, admins=self.admins)

    def _from_proxy(self, client_host: str | None) -> bool:
        if not client_host or not self.xfcc_proxies:
            return False
        try:
            address = ip_address(client_host)
        except ValueError:
            return False
        return any(address in network for network in self.xfcc_proxies)

    def _certificate(self, der: bytes) -> Principal:
        leaf = x509.load_der_x509_certificate(der)
        if self.crl is None:
            raise unauthorized("Client certificates are not accepted here (no CRL configured)")
        try:
            self.crl.check(leaf)
        except (PermissionError, CrlUnavailable) as exc:
            raise unauthorized(f"Client certificate refused: {exc}") from None
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if len(names) != 1:
            raise unauthorized("Client certificate must carry exactly one CN")
        return Principal.from_name(str(names[0].value), admins=self.admins)

    async def authenticate(self, headers: dict[str, str], *, peer: bytes | None = None,
                           client_host: str | None = None) -> Principal:
        if peer is not None:
            return self._certificate(peer)
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
        if xfcc and self._from_proxy(client_host):
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
