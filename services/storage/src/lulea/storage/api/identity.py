"""Turning a request into a Caller: a member's client certificate (checked against the CA's
CRL), a bearer token (TokenReview, audience `lulea`), or a delegation token this service
issued. `user.name` alone is never believed (only with authorization off in a local run)."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from lulea.core.auth.crl import CrlUnavailable, CrlWatcher
from lulea.core.auth.principal import InvalidPrincipal, KubernetesPrincipal, parse_member_common_name
from lulea.core.auth.tokenreview import TokenRejected
from lulea.storage.access import Caller
from lulea.storage.namespace.errors import Hadoop, StorageError
from lulea.storage.namespace.tokens import DelegationTokens


def unauthenticated(message: str) -> StorageError:
    return StorageError(Hadoop.SECURITY, message)


class TokenReviewer(Protocol):
    async def review(self, token: str) -> KubernetesPrincipal: ...


class KubernetesTokenReviewer:
    def __init__(self, api: Any, audiences: tuple[str, ...]) -> None:
        self.api, self.audiences = api, audiences

    async def review(self, token: str) -> KubernetesPrincipal:
        from lulea.core.auth.tokenreview import review_token

        return await review_token(self.api, token, self.audiences)


def to_claims(caller: Caller) -> dict[str, Any]:
    return {"u": caller.user, "p": caller.project, "pl": caller.platform}


def from_claims(claims: dict[str, Any]) -> Caller:
    return Caller(str(claims["u"]), claims.get("p"), bool(claims.get("pl")))


class Authenticator:
    def __init__(self, reviewer: TokenReviewer | None, tokens: DelegationTokens, *,
                 platform_namespace: str, crl: CrlWatcher | None, cache_seconds: float = 30.0,
                 open_access: bool = False) -> None:
        self.reviewer, self.tokens, self.crl = reviewer, tokens, crl
        self.platform_namespace = platform_namespace
        self.cache_seconds = cache_seconds
        self.open_access = open_access
        self.cache: dict[str, tuple[float, Caller]] = {}

    async def authenticate(self, headers: dict[str, str], params: dict[str, str],
                           peer: bytes | None) -> Caller:
        if self.open_access:
            return Caller(params.get("user.name") or "anonymous", platform=True)
        delegation = params.get("delegation")
        if delegation:
            return from_claims(await self.tokens.caller(delegation))
        if peer is not None:
            return self.certificate(peer)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return await self.token(credentials.strip())
        raise unauthenticated("Authentication required: a client certificate, a bearer token or"
                              " a delegation token (user.name alone is not believed)")

    def certificate(self, der: bytes) -> Caller:
        leaf = x509.load_der_x509_certificate(der)
        if self.crl is None:
            raise unauthenticated("client certificates are not accepted here (no CRL configured)")
        try:
            self.crl.check(leaf)
        except (PermissionError, CrlUnavailable) as exc:
            raise unauthenticated(f"client certificate refused: {exc}") from None
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if len(names) != 1:
            raise unauthenticated("a client certificate must carry exactly one CN")
        cn = str(names[0].value)
        try:
            member = parse_member_common_name(cn)
        except InvalidPrincipal:
            return Caller(cn, platform=cn.startswith("lulea-"))
        return Caller(member.user, member.project)

    async def token(self, token: str) -> Caller:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self.cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        if self.reviewer is None:
            raise unauthenticated("token authentication is not configured")
        try:
            principal = await self.reviewer.review(token)
        except TokenRejected as exc:
            raise unauthenticated(f"invalid token: {exc}") from None
        account = principal.service_account
        if account is not None:
            namespace, name = account
            caller = (Caller(principal.username, platform=True) if namespace == self.platform_namespace
                      else Caller(name, project=namespace))
        else:
            caller = Caller(principal.username)
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[key] = (now + self.cache_seconds, caller)
        return caller
