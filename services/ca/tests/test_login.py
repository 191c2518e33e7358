"""`lulea login`: a person asks for their member certificate with their own API-server token
(not bound to the audience `lulea`), and gets a short-lived one only for a project that lists
them; that token gets nothing else, and a service account's API-server token gets nothing."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from cryptography import x509
from fastapi import FastAPI

from lulea.ca.api.app import create_app
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.core.auth import KubernetesPrincipal
from lulea.core.auth.tokenreview import TokenRejected

from .conftest import ca_state
from .test_api import TOKENS, auth, make_csr
from .test_api import authenticate as lulea_audience

# Tokens the API server accepts for itself only (TokenReview without audiences).
API_SERVER_TOKENS = {
    "alice-static": KubernetesPrincipal("alice", ("system:authenticated",)),
    "bob-static": KubernetesPrincipal("bob", ("system:authenticated",)),
    "pod-default-token": KubernetesPrincipal("system:serviceaccount:p1:default"),
    "platform-sa-apiserver": KubernetesPrincipal("system:serviceaccount:lulea-system:kafka-broker"),
}


async def api_server_audience(token: str) -> KubernetesPrincipal:
    if token in API_SERVER_TOKENS:
        return API_SERVER_TOKENS[token]
    if token in TOKENS:
        return TOKENS[token]
    raise TokenRejected("token not authenticated")


def make_app(hierarchy: Hierarchy, people: bool = True) -> FastAPI:
    state = ca_state(hierarchy, lulea_audience, roles={("p1", "alice"): "DataScientist"})
    state.authenticate_person = api_server_audience if people else None
    state.member_csr_lifetime = dt.timedelta(hours=12)
    return create_app(state)


@pytest.fixture
async def api(hierarchy: Hierarchy) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(hierarchy)), base_url="http://ca")


def member(project: str, cn: str) -> dict[str, str]:
    return {"csr": make_csr(cn, (), ()), "profile": "member", "project": project}


async def test_a_member_logs_in_with_their_own_token_and_gets_a_short_lived_cert(
        api: httpx.AsyncClient) -> None:
    resp = await api.post("/v1/certificates/sign", json=member("p1", "p1__alice"),
                          headers=auth("alice-static"))
    assert resp.status_code == 201, resp.text
    cert = x509.load_pem_x509_certificate(resp.json()["certificate"].encode())
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(hours=11) < life <= dt.timedelta(hours=13)


REFUSED = [  # (token, body, status, message fragment)
    ("bob-static", member("p1", "p1__bob"), 403, "not a member of 'p1'"),
    ("alice-static", member("p2", "p2__alice"), 403, "not a member of 'p2'"),
    ("alice-static", member("p1", "p1__bob"), 403, "CN must be 'p1__alice'"),
    ("pod-default-token", member("p1", "p1__alice"), 401, "audience 'lulea'"),
    ("platform-sa-apiserver", member("p1", "p1__alice"), 401, "audience 'lulea'"),
    ("forged", member("p1", "p1__alice"), 401, "not authenticated"),
    (None, member("p1", "p1__alice"), 401, "missing Authorization"),
    # the person's token opens the member CSR only: a service certificate still needs `lulea`
    ("platform-sa-apiserver", {"csr": make_csr()}, 401, "not authenticated"),
    ("alice-static", {"csr": make_csr("alice", (), ())}, 401, "not authenticated"),
]


@pytest.mark.parametrize(("token", "body", "status", "message"), REFUSED)
async def test_refused(api: httpx.AsyncClient, token: str | None, body: dict[str, str], status: int,
                       message: str) -> None:
    resp = await api.post("/v1/certificates/sign", json=body, headers=auth(token) if token else {})
    assert resp.status_code == status, resp.text
    assert message in resp.json()["message"]


async def test_with_people_login_off_a_persons_token_is_refused(hierarchy: Hierarchy) -> None:
    app = make_app(hierarchy, people=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ca") as api:
        resp = await api.post("/v1/certificates/sign", json=member("p1", "p1__alice"),
                              headers=auth("alice-static"))
    assert resp.status_code == 401
