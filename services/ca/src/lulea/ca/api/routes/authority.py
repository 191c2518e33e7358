"""Public trust material: the chain and the CRL (no authentication: verifiers need them)."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from fastapi import APIRouter, Header, Response

from lulea.ca.api.deps import State

router = APIRouter(tags=["authority"])
PEM_CHAIN = "application/pem-certificate-chain"
PKIX_CRL = "application/pkix-crl"


@router.get("/ca", response_class=Response, responses={200: {"content": {PEM_CHAIN: {}}}})
async def chain(state: State) -> Response:
    """The intermediate and the root, PEM."""
    return Response(state.hierarchy.chain_pem, media_type=PEM_CHAIN)


@router.get("/crl", response_class=Response, responses={200: {"content": {PKIX_CRL: {}}}, 304: {}})
async def crl(state: State, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The current CRL, DER; always fresh (regenerated before its nextUpdate, and at once after
    a revocation). Its ETag is the CRL number, so a verifier that polls every second gets a
    304 until something is revoked."""
    current = await state.crl.current()
    number = current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    etag = f'"{number}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(await state.crl.der(), media_type=PKIX_CRL, headers=headers)
