"""Kubernetes TokenReview: turn a bearer token into the identity the API server vouches for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lulea.core.auth.principal import KubernetesPrincipal


class TokenRejected(ValueError):
    """The API server did not authenticate the token."""


async def review_token(api_client: Any, token: str, audiences: Sequence[str] = ()) -> KubernetesPrincipal:
    """Ask the API server who `token` belongs to (kubernetes_asyncio ApiClient).

    The caller's own service account needs `create` on `tokenreviews`
    (ClusterRole `system:auth-delegator` grants it).
    """
    from kubernetes_asyncio import client  # imported late: only services that review tokens

    if not token:
        raise TokenRejected("no bearer token")
    spec = client.V1TokenReviewSpec(token=token, audiences=list(audiences) or None)
    review = await client.AuthenticationV1Api(api_client).create_token_review(client.V1TokenReview(spec=spec))
    status = review.status
    if status is None or not status.authenticated or status.user is None:
        reason = (status.error if status is not None else None) or "token not authenticated"
        raise TokenRejected(reason)
    user = status.user
    return KubernetesPrincipal(
        username=str(user.username or ""),
        groups=tuple(user.groups or ()),
        uid=str(user.uid or ""),
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or raise TokenRejected."""
    if not authorization:
        raise TokenRejected("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("Authorization header is not 'Bearer <token>'")
    return token.strip()
