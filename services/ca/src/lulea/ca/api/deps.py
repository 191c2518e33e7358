"""FastAPI dependencies: the CA's state and the authenticated caller."""

from __future__ import annotations

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


State = Annotated[CaState, Depends(ca_state)]
Caller = Annotated[KubernetesPrincipal, Depends(caller)]
