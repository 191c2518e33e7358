"""Content negotiation as Confluent's Jersey resources do it.

Confluent's resources declare `@Produces({"application/vnd.schemaregistry.v1+json",
"application/vnd.schemaregistry+json; qs=0.9", "application/json; qs=0.5"})` and
`@Consumes` of those three plus `application/octet-stream`. Jersey picks the produced type
with the client's highest q, then the server's qs; 406 when none is acceptable, 415 for a
body it cannot read.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from .conftest import schema

V1 = "application/vnd.schemaregistry.v1+json"
DEFAULT = "application/vnd.schemaregistry+json"
JSON = "application/json"
GOOD = schema(("a", "int"))

# (case, Accept, the Content-Type answered)
ACCEPTS: list[tuple[str, str | None, str]] = [
    ("no accept", None, V1),
    ("empty accept", "", V1),
    ("anything", "*/*", V1),
    ("any application type", "application/*", V1),
    ("plain json", JSON, JSON),
    ("unversioned", DEFAULT, DEFAULT),
    ("v1", V1, V1),
    ("confluent client's list", f"{V1}, {DEFAULT}, {JSON}", V1),
    ("json preferred by q", f"{JSON};q=0.9, {V1};q=0.1", JSON),
    ("unversioned preferred by q", f"{V1};q=0.5, {DEFAULT};q=0.8, {JSON};q=0.7", DEFAULT),
    ("q ties broken by the server's qs", f"{JSON}, {DEFAULT}", DEFAULT),
    ("wildcard at low q loses to json", f"{JSON}, */*;q=0.1", JSON),
    ("browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", V1),
    ("axios", "application/json, text/plain, */*", V1),
    ("java's default", "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", V1),
    ("q=0 excludes a type", f"{V1};q=0, application/*", DEFAULT),
    ("q=0 excludes all but json", f"{JSON}, */*;q=0", JSON),
    ("case and spaces", " Application/JSON ; Q=1 ", JSON),
    ("other parameters ignored", f"{JSON}; charset=utf-8", JSON),
]


@pytest.mark.parametrize(("case", "accept", "answered"), ACCEPTS, ids=[a[0] for a in ACCEPTS])
def test_accept_chooses_the_content_type(client: TestClient, case: str, accept: str | None,
                                         answered: str) -> None:
    schema_id = client.post("/subjects/p.t-value/versions", json=GOOD).json()["id"]
    headers = {} if accept is None else {"Accept": accept}
    for path in (f"/schemas/ids/{schema_id}", f"/schemas/ids/{schema_id}",  # cached: fast path
                 "/subjects", "/subjects/p.t-value/versions/1", "/config", "/schemas/types",
                 "/subjects/nope/versions"):  # errors are negotiated too
        response = client.get(path, headers=headers)
        assert response.headers["content-type"] == answered, path
        response.json()
    assert client.post("/subjects/p.t-value/versions", json=GOOD,
                       headers=headers).headers["content-type"] == answered


@pytest.mark.parametrize("accept", ["text/html", "text/*", "application/xml",
                                    f"{JSON};q=0, {V1};q=0, {DEFAULT};q=0",
                                    "application/vnd.schemaregistry.v2+json"])
def test_an_unacceptable_accept_is_406(client: TestClient, accept: str) -> None:
    schema_id = client.post("/subjects/p.t-value/versions", json=GOOD).json()["id"]
    client.get(f"/schemas/ids/{schema_id}")  # in the cache: the fast path must refuse too
    for method, path in (("GET", f"/schemas/ids/{schema_id}"), ("GET", "/subjects"),
                         ("POST", "/subjects/p.t-value/versions"), ("GET", "/"),
                         ("GET", f"/schemas/ids/{schema_id}/schema")):
        response = client.request(method, path, json=GOOD, headers={"Accept": accept})
        assert response.status_code == 406, (method, path)
        assert response.json() == {"error_code": 406, "message": "HTTP 406 Not Acceptable"}


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/xml",
                                          "application/x-www-form-urlencoded", "nonsense"])
def test_an_unreadable_body_is_415(client: TestClient, content_type: str) -> None:
    body = json.dumps(GOOD).encode()
    for path in ("/subjects/p.t-value/versions", "/subjects/p.t-value",
                 "/compatibility/subjects/p.t-value/versions"):
        response = client.post(path, content=body, headers={"Content-Type": content_type})
        assert response.status_code == 415, path
        assert response.json() == {"error_code": 415, "message": "HTTP 415 Unsupported Media Type"}
    put = client.put("/config", content=b'{"compatibility":"NONE"}',
                     headers={"Content-Type": content_type, "Accept": JSON})
    assert put.status_code == 415 and put.headers["content-type"] == JSON


@pytest.mark.parametrize("content_type", [V1, DEFAULT, JSON, "application/octet-stream",
                                          None, f"{JSON}; charset=utf-8"])
def test_every_readable_body_type_registers(client: TestClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/subjects/p.t-value/versions", content=json.dumps(GOOD).encode(),
                           headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("charset", ["utf-16", "utf-16le", "utf-16be", "utf-32", "UTF-16"])
def test_a_body_is_decoded_by_its_charset(client: TestClient, charset: str) -> None:
    body = json.dumps({"schema": json.dumps({"type": "enum", "name": "E", "doc": "ÅÄÖ ✓",
                                             "symbols": ["A"]})}, ensure_ascii=False)
    response = client.post("/subjects/p.t-value/versions", content=body.encode(charset),
                           headers={"Content-Type": f"{V1}; charset={charset}"})
    assert response.status_code == 200, response.text
    stored = client.get(f"/schemas/ids/{response.json()['id']}").json()["schema"]
    assert json.loads(stored)["doc"] == "ÅÄÖ ✓"


def test_a_utf16_body_without_charset_is_detected(client: TestClient) -> None:
    """Jackson (Confluent's reader) detects UTF-16 and UTF-32 from the first bytes."""
    response = client.post("/subjects/p.t-value/versions",
                           content=json.dumps(GOOD).encode("utf-16-le"),
                           headers={"Content-Type": V1})
    assert response.status_code == 200, response.text


def test_a_malformed_accept_is_400(client: TestClient) -> None:
    response = client.get("/subjects", headers={"Accept": "application/json;q=high"})
    assert response.status_code == 400
    assert response.json() == {"error_code": 400, "message": "HTTP 400 Bad Request"}


def test_raw_schema_endpoints_answer_the_negotiated_type(client: TestClient) -> None:
    """Confluent returns the bare schema string under the resource's negotiated type."""
    schema_id = client.post("/subjects/p.t-value/versions", json=GOOD).json()["id"]
    for path in (f"/schemas/ids/{schema_id}/schema", "/subjects/p.t-value/versions/1/schema"):
        response = client.get(path, headers={"Accept": JSON})
        assert response.headers["content-type"] == JSON
        assert json.loads(response.text)["name"] == "R"


def test_probes_and_metrics_are_not_negotiated(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 200, path
