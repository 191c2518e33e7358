"""Public trust material: the chain and the CRL (no authentication: verifiers need them)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lulea.ca.api.deps import State

router = APIRouter(tags=["authority"])
PEM_CHAIN = "application/pem-certificate-chain"
PKIX_CRL = "application/pkix-crl"


@router.get("/ca", response_class=Response, responses={200: {"content": {PEM_CHAIN: {}}}})
async def chain(state: State) -> Response:
    """The intermediate and the root, PEM."""
    return Response(state.hierarchy.chain_pem, media_type=PEM_CHAIN)


@router.get("/crl", response_class=Response, responses={200: {"content": {PKIX_CRL: {}}}})
async def crl(state: State) -> Response:
    """The current CRL, DER; always fresh (regenerated before its nextUpdate)."""
    return Response(await state.crl.der(), media_type=PKIX_CRL, headers={"Cache-Control": "max-age=300"})
