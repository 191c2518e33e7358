"""Project scope: a member reaches its project's subjects; others answer 404, never 403."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from lulea.schema_registry.domain.access import Principal, ProjectAuthorizer, subject_project

from .conftest import FakeReviewer, schema

V1 = schema(("a", "int"))


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(secured: TestClient) -> TestClient:
    for subject in ("p1.orders-value", "p2.clicks-value"):
        response = secured.post(f"/subjects/{subject}/versions", json=V1,
                                headers=as_("platform-token"))
        assert response.status_code == 200
    secured.post("/subjects/p2.clicks-value/versions", json=schema(("a", "int"), ("b", "int", 0)),
                 headers=as_("platform-token"))
    return secured


# (who, method, path, status, error_code)
MATRIX = [
    ("alice-token", "GET", "/subjects/p1.orders-value/versions", 200, None),
    ("alice-token", "GET", "/subjects/p2.clicks-value/versions", 404, 40401),
    ("alice-token", "GET", "/subjects/p2.clicks-value/versions/1", 404, 40401),
    ("alice-token", "POST", "/subjects/p2.clicks-value/versions", 404, 40401),
    ("alice-token", "DELETE", "/subjects/p2.clicks-value", 404, 40401),
    ("alice-token", "GET", "/config/p2.clicks-value", 404, 40401),
    ("alice-token", "PUT", "/config/p2.clicks-value", 404, 40401),
    ("alice-token", "POST", "/compatibility/subjects/p2.clicks-value/versions", 404, 40401),
    ("alice-token", "GET", "/schemas/ids/2", 404, 40403),  # only in p2
    ("alice-token", "GET", "/schemas/ids/1", 200, None),  # also in p1
    ("alice-token", "PUT", "/config", 403, 40301),
    ("alice-token", "PUT", "/mode", 403, 40301),
    ("alice-token", "GET", "/config", 200, None),
    ("sa-p1-token", "GET", "/subjects/p1.orders-value/versions", 200, None),
    ("sa-p1-token", "GET", "/subjects/p2.clicks-value/versions", 404, 40401),
    ("bob-token", "GET", "/subjects/p2.clicks-value/versions", 200, None),
    ("bob-token", "GET", "/subjects/p1.orders-value/versions", 404, 40401),
    ("stranger-token", "GET", "/subjects/p1.orders-value/versions", 404, 40401),
    ("stranger-token", "GET", "/schemas/ids/1", 404, 40403),
    ("admin-token", "GET", "/subjects/p2.clicks-value/versions", 200, None),
    ("platform-token", "PUT", "/config", 200, None),
    ("bad-token", "GET", "/subjects", 401, 401),
]


@pytest.mark.parametrize(("token", "method", "path", "status", "code"), MATRIX)
def test_access_matrix(seeded: TestClient, token: str, method: str, path: str, status: int,
                       code: int | None) -> None:
    body = {"compatibility": "FULL"} if "config" in path else V1
    kwargs = {"json": body} if method in ("POST", "PUT") else {}
    response = seeded.request(method, path, headers=as_(token), **kwargs)
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error_code"] == code


def test_listing_shows_only_own_subjects(seeded: TestClient) -> None:
    assert seeded.get("/subjects", headers=as_("alice-token")).json() == ["p1.orders-value"]
    assert seeded.get("/subjects", headers=as_("stranger-token")).json() == []
    assert seeded.get("/subjects", headers=as_("admin-token")).json() == [
        "p1.orders-value", "p2.clicks-value"]
    assert seeded.get("/schemas/ids/1/subjects", headers=as_("alice-token")).json() == [
        "p1.orders-value"]


def test_no_credentials_is_401(seeded: TestClient) -> None:
    response = seeded.get("/subjects")
    assert response.status_code == 401 and response.json()["error_code"] == 401


def test_basic_auth_password_is_the_token(seeded: TestClient) -> None:
    creds = base64.b64encode(b"whoever:alice-token").decode()
    response = seeded.get("/subjects", headers={"Authorization": f"Basic {creds}"})
    assert response.json() == ["p1.orders-value"]


def test_client_cert_subject_from_trusted_proxy(seeded: TestClient) -> None:
    xfcc = 'By=spiffe://lulea/sr;Hash=abc;Subject="CN=p2__bob,O=lulea";URI='
    response = seeded.get("/subjects", headers={"X-Forwarded-Client-Cert": xfcc})
    assert response.json() == ["p2.clicks-value"]


def test_a_forwarded_client_cert_from_anyone_but_the_proxy_is_ignored(seeded: TestClient) -> None:
    xfcc = 'By=spiffe://lulea/sr;Hash=abc;Subject="CN=p2__bob,O=lulea";URI='
    with TestClient(seeded.app, client=("10.9.8.7", 41000)) as direct:  # a pod, not the proxy
        response = direct.get("/subjects", headers={"X-Forwarded-Client-Cert": xfcc})
    assert response.status_code == 401 and response.json()["error_code"] == 401


def test_token_reviews_are_cached(seeded: TestClient, reviewer: FakeReviewer) -> None:
    before = reviewer.calls
    for _ in range(5):
        seeded.get("/subjects", headers=as_("bob-token"))
    assert reviewer.calls - before <= 1


def test_shares_extend_access() -> None:
    authorizer = ProjectAuthorizer(shares=lambda s: ["p3"] if s.startswith("p1.") else [])
    assert authorizer.can_access(Principal("p3__dan", project="p3"), "p1.orders-value")
    assert not authorizer.can_access(Principal("p3__dan", project="p3"), "p2.clicks-value")


@pytest.mark.parametrize(("subject", "project"), [
    ("p1.orders-value", "p1"), ("p1.a.b-key", "p1"), ("orders-value", None), (".x", None)])
def test_subject_project(subject: str, project: str | None) -> None:
    assert subject_project(subject) == project


@pytest.mark.parametrize(("name", "project", "platform"), [
    ("p1__alice", "p1", False), ("alice", None, False), ("root", None, True), ("__x", None, False)])
def test_principal_from_name(name: str, project: str | None, platform: bool) -> None:
    principal = Principal.from_name(name, admins=["root"])
    assert (principal.project, principal.platform) == (project, platform)


def test_cached_lookups_keep_the_access_check(seeded: TestClient) -> None:
    """The second lookup is answered from the cache before routing; the rules still hold."""
    for _ in range(2):
        assert seeded.get("/schemas/ids/1", headers=as_("alice-token")).status_code == 200
        assert seeded.get("/schemas/ids/2", headers=as_("alice-token")).status_code == 404
        assert seeded.get("/schemas/ids/2", headers=as_("bob-token")).status_code == 200
        assert seeded.get("/schemas/ids/1", headers=as_("stranger-token")).status_code == 404
        assert seeded.get("/schemas/ids/1").status_code == 401
        assert seeded.get("/schemas/ids/1", headers=as_("bad-token")).status_code == 401


def test_cached_lookup_sees_a_new_subject_for_the_same_schema(seeded: TestClient) -> None:
    assert seeded.get("/schemas/ids/2", headers=as_("alice-token")).status_code == 404
    v2 = schema(("a", "int"), ("b", "int", 0))
    assert seeded.post("/subjects/p1.copy-value/versions", json=v2,
                       headers=as_("alice-token")).json() == {"id": 2}
    assert seeded.get("/schemas/ids/2", headers=as_("alice-token")).status_code == 200
