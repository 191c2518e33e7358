"""FastAPI dependencies: the CA's state and the authenticated caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from lulea.ca.domain.crl import CurrentCrl
from lulea.ca.domain.errors import ErrorCode, Unauthenticated
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.store.base import RecordStore
from lulea.core.auth import KubernetesPrincipal
from lulea.core.auth.tokenreview import TokenRejected, bearer_token

Authenticator = Callable[[str], Awaitable[KubernetesPrincipal]]


@dataclass
class CaState:
    hierarchy: Hierarchy
    records: RecordStore
    crl: CurrentCrl
    members: MemberCertificates
    authenticate: Authenticator
    platform_namespaces: frozenset[str]
    role_of: Callable[[str, str], str | None]
    """The user's role in a project, from the Project objects (None: not a member)."""
    ready: Callable[[], Awaitable[None]] | None = None
    authenticate_person: Authenticator | None = None
    """TokenReview with the API server's own audience, for a person's member CSR only (`lulea
    login`): people's tokens (static, OIDC, client kubeconfigs) are not bound to `lulea`. A
    service account's token is never accepted this way."""
    member_csr_lifetime: dt.timedelta | None = None
    """The lifetime of a member certificate signed from the member's own CSR (short: a laptop's)."""


def ca_state(request: Request) -> CaState:
    state: CaState = request.app.state.ca
    return state


async def caller(
    state: Annotated[CaState, Depends(ca_state)],
    authorization: Annotated[str | None, Header()] = None,
) -> KubernetesPrincipal:
    try:
        return await state.authenticate(bearer_token(authorization))
    except TokenRejected as exc:
        raise Unauthenticated(f"not authenticated: {exc}", ErrorCode.UNAUTHENTICATED) from None


async def member_caller(state: CaState, authorization: str | None) -> KubernetesPrincipal:
    """Who asks for a member certificate: a `lulea`-audience token as everywhere, or else a
    person's token that the API server accepts for itself (never a service account's: a pod's
    default token must not turn into a member certificate)."""
    try:
        token = bearer_token(authorization)
        return await state.authenticate(token)
    except TokenRejected as exc:
        if state.authenticate_person is None or not authorization:
            raise Unauthenticated(f"not authenticated: {exc}", ErrorCode.UNAUTHENTICATED) from None
        rejected = exc
    try:
        person = await state.authenticate_person(token)
    except TokenRejected:
        raise Unauthenticated(f"not authenticated: {rejected}", ErrorCode.UNAUTHENTICATED) from None
    if person.service_account is not None:
        raise Unauthenticated("not authenticated: a service account's token must be bound to the "
                              "audience 'lulea'", ErrorCode.UNAUTHENTICATED)
    return person


State = Annotated[CaState, Depends(ca_state)]
Caller = Annotated[KubernetesPrincipal, Depends(caller)]
