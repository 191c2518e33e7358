"""Project scope: a member reaches its project's subjects; others answer 404, never 403."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lulea.schema_registry.domain.access import Principal, ProjectAuthorizer, subject_project
from lulea.schema_registry.domain.topic_shares import shared_with, topic_key
from lulea.schema_registry.main import create_app
from lulea.schema_registry.settings import Settings
from lulea.schema_registry.store.memory import MemoryStore

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


def test_shares_extend_reading_never_writing() -> None:
    authorizer = ProjectAuthorizer(shares=lambda s: ["p3"] if s.startswith("p1.") else [])
    dan = Principal("p3__dan", project="p3")
    assert authorizer.can_read(dan, "p1.orders-value")
    assert not authorizer.can_access(dan, "p1.orders-value")
    assert not authorizer.can_read(dan, "p2.clicks-value")
    assert not authorizer.can_read(Principal("carol"), "p1.orders-value")


@pytest.fixture
def shared(reviewer: FakeReviewer) -> Iterator[TestClient]:
    """p2's topic `clicks` is shared with p1 (what a Topic CR's `shares` says)."""
    settings = Settings(admin_principals="root", xfcc_proxies=["127.0.0.0/8"])
    app = create_app(settings, store=MemoryStore(), reviewer=reviewer,
                     shares=lambda s: ["p1"] if s == "p2.clicks-value" else [])
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        for subject in ("p2.clicks-value", "p2.secret-value"):
            body = schema(("a", "int"), name="Clicks" if "clicks" in subject else "Secret")
            assert c.post(f"/subjects/{subject}/versions", json=body,
                          headers=as_("platform-token")).status_code == 200
        yield c


SHARED = [  # alice (p1) on p2's shared subject: every read, no write; p2's other subject: 404
    ("GET", "/subjects/p2.clicks-value/versions", None, 200, None),
    ("GET", "/subjects/p2.clicks-value/versions/latest", None, 200, None),
    ("GET", "/subjects/p2.clicks-value/versions/1/schema", None, 200, None),
    ("POST", "/subjects/p2.clicks-value", schema(("a", "int"), name="Clicks"), 200, None),
    ("POST", "/compatibility/subjects/p2.clicks-value/versions", schema(("a", "int"), name="Clicks"),
     200, None),
    ("GET", "/schemas/ids/1", None, 200, None),
    ("GET", "/schemas/ids/1/versions", None, 200, None),
    ("POST", "/subjects/p2.clicks-value/versions", schema(("a", "int"), name="Clicks"), 403, 40301),
    ("DELETE", "/subjects/p2.clicks-value", None, 403, 40301),
    ("DELETE", "/subjects/p2.clicks-value/versions/1", None, 403, 40301),
    ("PUT", "/config/p2.clicks-value", {"compatibility": "NONE"}, 403, 40301),
    ("PUT", "/mode/p2.clicks-value", {"mode": "READONLY"}, 403, 40301),
    ("GET", "/subjects/p2.secret-value/versions", None, 404, 40401),
    ("POST", "/subjects/p2.secret-value/versions", schema(("a", "int"), name="Secret"), 404, 40401),
    ("GET", "/schemas/ids/2", None, 404, 40403),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), SHARED)
def test_a_shared_topic_s_subject_is_readable_not_writable(
        shared: TestClient, method: str, path: str, body: Any, status: int, code: int | None) -> None:
    answer = shared.request(method, path, json=body, headers=as_("alice-token"))
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["error_code"] == code


def test_subject_listing_shows_shared_subjects(shared: TestClient) -> None:
    assert shared.get("/subjects", headers=as_("alice-token")).json() == ["p2.clicks-value"]
    assert shared.get("/subjects", headers=as_("stranger-token")).json() == []


@pytest.mark.parametrize(("subject", "key"), [
    ("p1.clicks-value", "p1/clicks"), ("p1.clicks-key", "p1/clicks"), ("p1.clicks", None),
    ("clicks-value", None), (".x-value", None)])
def test_topic_key(subject: str, key: str | None) -> None:
    assert topic_key(subject) == key


def test_shared_with_reads_the_topic_cr() -> None:
    cr = {"metadata": {"namespace": "p1", "name": "clicks"},
          "spec": {"shares": [{"project": "p2", "access": "Read"}, {"project": "p1"}]}}
    assert shared_with(cr) == {"p2"}  # the owner itself is no share
    assert shared_with({**cr, "metadata": {**cr["metadata"], "deletionTimestamp": "x"}}) == set()
    assert shared_with(None) == set()


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
                       headers=as_("alice-token")).json() == {"id": 2, "version": 1}
    assert seeded.get("/schemas/ids/2", headers=as_("alice-token")).status_code == 200
