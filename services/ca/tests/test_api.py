"""The CA's HTTP API: trust material, CSR signing policy, and clear refusals."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import FastAPI

from lulea.ca.api.app import create_app
from lulea.ca.domain.hierarchy import Hierarchy
from lulea.core.auth import KubernetesPrincipal
from lulea.core.auth.tokenreview import TokenRejected

from .conftest import ca_state

TOKENS = {
    "broker-token": KubernetesPrincipal("system:serviceaccount:lulea-system:kafka-broker"),
    "tenant-sa-token": KubernetesPrincipal("system:serviceaccount:p1:default"),
    "alice-token": KubernetesPrincipal("alice", ("system:authenticated",)),
    "bob-token": KubernetesPrincipal("bob", ("system:authenticated",)),
}
BROKER_FQDN = "kafka-broker.lulea-system.svc.cluster.local"


async def authenticate(token: str) -> KubernetesPrincipal:
    if token not in TOKENS:
        raise TokenRejected("token not authenticated")
    return TOKENS[token]


def make_app(hierarchy: Hierarchy) -> FastAPI:
    return create_app(ca_state(hierarchy, authenticate, roles={("p1", "alice"): "DataScientist"}))


@pytest.fixture
async def api(hierarchy: Hierarchy) -> httpx.AsyncClient:
    app = make_app(hierarchy)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ca")


def make_csr(
    cn: str = "kafka-broker",
    dns: tuple[str, ...] = (BROKER_FQDN,),
    ips: tuple[str, ...] = ("127.0.0.1",),
    key: object | None = None,
) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    import ipaddress

    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[arg-type]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_chain_and_crl_served(api: httpx.AsyncClient, hierarchy: Hierarchy) -> None:
    chain = await api.get("/ca")
    assert chain.status_code == 200
    assert x509.load_pem_x509_certificates(chain.content)[1] == hierarchy.root
    crl_resp = await api.get("/crl")
    assert crl_resp.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_resp.content)
    assert crl.is_signature_valid(hierarchy.intermediate.key.public_key())
    assert crl.next_update_utc > dt.datetime.now(dt.UTC)


async def test_broker_gets_a_server_certificate(api: httpx.AsyncClient) -> None:
    resp = await api.post("/v1/certificates/sign", json={"csr": make_csr()}, headers=auth("broker-token"))
    assert resp.status_code == 201, resp.text
    cert = x509.load_pem_x509_certificate(resp.json()["certificate"].encode())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [BROKER_FQDN]
    status = await api.get(f"/v1/certificates/{resp.json()['serial']}/status", headers=auth("broker-token"))
    assert status.json()["status"] == "active"


async def test_member_gets_only_its_own_certificate(api: httpx.AsyncClient) -> None:
    ok = await api.post(
        "/v1/certificates/sign",
        headers=auth("alice-token"),
        json={"csr": make_csr("p1__alice", (), ()), "profile": "member", "project": "p1"},
    )
    assert ok.status_code == 201, ok.text
    cert = x509.load_pem_x509_certificate(ok.json()["certificate"].encode())
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == ("DataScientist")


def _ec(curve: ec.EllipticCurve) -> str:
    return make_csr(key=ec.generate_private_key(curve))


BAD = [  # (token, body, status, error_code, message fragment)
    (None, {"csr": "x"}, 401, 40101, "missing Authorization"),
    ("forged", {"csr": "x"}, 401, 40101, "not authenticated"),
    ("broker-token", {"csr": "not a csr"}, 422, 42201, "not a PEM certificate signing request"),
    (
        "broker-token",
        {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"},
        422,
        42201,
        "not a PEM certificate signing request",
    ),
    ("broker-token", {"csr": "RSA1024"}, 422, 42202, "RSA key of 1024 bits"),
    ("broker-token", {"csr": "P192"}, 422, 42202, "not allowed"),
    ("broker-token", {"csr": "ED25519"}, 422, 42202, "Ed25519PublicKey"),
    ("broker-token", {"csr": "OTHER_CN"}, 403, 40301, "CN must be the service account name"),
    ("broker-token", {"csr": "OTHER_DNS"}, 403, 40301, "is not a name of service"),
    ("broker-token", {"csr": "PUBLIC_IP"}, 403, 40301, "only loopback"),
    ("broker-token", {"csr": "OK", "profile": "member", "project": "p1"}, 403, 40301, "members"),
    ("tenant-sa-token", {"csr": "OK"}, 403, 40301, "only platform service accounts"),
    ("alice-token", {"csr": "OK"}, 403, 40301, "only platform service accounts"),
    ("alice-token", {"csr": "BOB", "profile": "member", "project": "p1"}, 403, 40301, "p1__alice"),
    (
        "alice-token",
        {"csr": "ALICE", "profile": "member", "project": "p2"},
        403,
        40301,
        "not a member of 'p2'",
    ),
    ("bob-token", {"csr": "BOB", "profile": "member", "project": "p1"}, 403, 40301, "not a member of 'p1'"),
    ("alice-token", {"csr": "ALICE", "profile": "member"}, 422, 42203, "need 'project'"),
]
CSRS = {
    "GARBLED": lambda: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    "RSA1024": lambda: make_csr(key=rsa.generate_private_key(65537, 1024)),
    "P192": lambda: _ec(ec.SECP192R1()),
    "ED25519": lambda: make_csr(key=ed25519.Ed25519PrivateKey.generate()),
    "OTHER_CN": lambda: make_csr("schema-registry"),
    "OTHER_DNS": lambda: make_csr(dns=("evil.example.com",)),
    "PUBLIC_IP": lambda: make_csr(ips=("8.8.8.8",)),
    "OK": make_csr,
    "BOB": lambda: make_csr("p1__bob", (), ()),
    "ALICE": lambda: make_csr("p1__alice", (), ()),
}


@pytest.mark.parametrize(("token", "body", "status", "code", "fragment"), BAD)
async def test_bad_requests_refused_clearly(
    api: httpx.AsyncClient,
    token: str | None,
    body: dict[str, str],
    status: int,
    code: int,
    fragment: str,
) -> None:
    body = dict(body)
    if body["csr"] in CSRS:
        body["csr"] = CSRS[body["csr"]]()
    resp = await api.post("/v1/certificates/sign", json=body, headers=auth(token) if token else {})
    assert resp.status_code == status, resp.text
    assert resp.json()["error_code"] == code
    assert fragment in resp.json()["message"]


async def test_other_callers_cannot_read_status(api: httpx.AsyncClient) -> None:
    resp = await api.get("/v1/certificates/abc/status", headers=auth("alice-token"))
    assert resp.status_code == 404
