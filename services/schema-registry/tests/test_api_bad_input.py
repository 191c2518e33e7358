"""Bad input gets Confluent's error code and a message that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import schema

GOOD = schema(("a", "int"))
BIG = {"schema": json.dumps({"type": "record", "name": "R", "doc": "x" * 70_000, "fields": []})}

# (case, method, path, body (dict -> json, bytes -> raw), status, error_code, text in message)
CASES: list[tuple[str, str, str, Any, int, int, str]] = [
    ("invalid json", "POST", "/subjects/p.t-value/versions", b"{not json", 400, 400,
     "Invalid JSON"),
    ("empty body", "POST", "/subjects/p.t-value/versions", b"", 400, 400, "empty"),
    ("body not an object", "POST", "/subjects/p.t-value/versions", [1, 2], 422, 422,
     "JSON object"),
    ("no schema", "POST", "/subjects/p.t-value/versions", {"schemaType": "AVRO"}, 422, 42201,
     "Empty schema"),
    ("schema not a string", "POST", "/subjects/p.t-value/versions", {"schema": {"type": "int"}},
     422, 42201, "`schema`"),
    ("invalid avro", "POST", "/subjects/p.t-value/versions", {"schema": '{"type":"recrod"}'},
     422, 42201, "unknown type"),
    ("avro with bad default", "POST", "/subjects/p.t-value/versions",
     schema(("a", "int", "zero")), 422, 42201, "Default value"),
    ("schema text not json", "POST", "/subjects/p.t-value/versions", {"schema": "{oops"}, 422,
     42201, "not valid JSON"),
    ("unsupported type", "POST", "/subjects/p.t-value/versions",
     {"schema": "{}", "schemaType": "PROTOBUF"}, 422, 42201, "Invalid schema type PROTOBUF"),
    ("references not a list", "POST", "/subjects/p.t-value/versions",
     {**GOOD, "references": "x"}, 422, 422, "'references' must be a list"),
    ("reference without version", "POST", "/subjects/p.t-value/versions",
     {**GOOD, "references": [{"name": "a", "subject": "s"}]}, 422, 422, "version"),
    ("reference to nothing", "POST", "/subjects/p.t-value/versions",
     {**GOOD, "references": [{"name": "a", "subject": "nope", "version": 1}]}, 422, 42201,
     "not found"),
    ("id outside import mode", "POST", "/subjects/p.t-value/versions", {**GOOD, "id": 7}, 422,
     42205, "Subject p.t-value is not in import mode"),
    ("version outside import mode", "POST", "/subjects/p.t-value/versions",
     {**GOOD, "version": 3}, 422, 42205, "Subject p.t-value is not in import mode"),
    ("oversized schema", "POST", "/subjects/p.t-value/versions", BIG, 422, 42209,
     "Register operation failed because schema is too large"),
    ("unknown subject", "GET", "/subjects/nope/versions", None, 404, 40401,
     "Subject 'nope' not found."),
    ("unknown version", "GET", "/subjects/p.have-value/versions/9", None, 404, 40402,
     "Version 9 not found."),
    ("version zero", "GET", "/subjects/p.x-value/versions/0", None, 422, 42202,
     "not a valid version id"),
    ("version word", "GET", "/subjects/p.x-value/versions/newest", None, 422, 42202,
     "not a valid version id"),
    ("version too big", "GET", "/subjects/p.x-value/versions/2147483648", None, 422, 42202,
     "not a valid version id"),
    ("unknown schema id", "GET", "/schemas/ids/999", None, 404, 40403, "Schema 999 not found"),
    ("raw text of unknown id", "GET", "/schemas/ids/999/schema", None, 404, 40403,
     "Schema 999 not found"),
    # SchemasResource.getSubjects/getVersions: Errors.schemaNotFoundException(), no id
    ("subjects of unknown id", "GET", "/schemas/ids/999/subjects", None, 404, 40403,
     "Schema not found"),
    ("versions of unknown id", "GET", "/schemas/ids/999/versions", None, 404, 40403,
     "Schema not found"),
    ("negative schema id", "GET", "/schemas/ids/-1", None, 404, 40403, "Schema -1 not found"),
    # Confluent's id is a Java Integer path param: no such route for anything else (Jersey 404)
    ("schema id beyond int", "GET", "/schemas/ids/2147483648", None, 404, 404,
     "HTTP 404 Not Found"),
    ("schema id not a number", "GET", "/schemas/ids/invalid", None, 404, 404,
     "HTTP 404 Not Found"),
    ("schema id a unicode digit", "GET", "/schemas/ids/%C2%B2", None, 404, 404,
     "HTTP 404 Not Found"),
    ("schema id with spaces", "GET", "/schemas/ids/%201", None, 404, 404, "HTTP 404 Not Found"),
    ("raw schema id not a number", "GET", "/schemas/ids/x/schema", None, 404, 404,
     "HTTP 404 Not Found"),
    ("subjects of id not a number", "GET", "/schemas/ids/1.5/subjects", None, 404, 404,
     "HTTP 404 Not Found"),
    ("versions of id not a number", "GET", "/schemas/ids/1e3/versions", None, 404, 404,
     "HTTP 404 Not Found"),
    ("bad compatibility", "PUT", "/config", {"compatibility": "SIDEWAYS"}, 422, 42203,
     "Invalid compatibility level"),
    ("compatibility not a string", "PUT", "/config/p.x-value", {"compatibility": 3}, 422, 42203,
     "Invalid compatibility level"),
    ("bad mode", "PUT", "/mode", {"mode": "WRITEONLY"}, 422, 42204, "Invalid mode"),
    ("no subject config", "GET", "/config/p.x-value", None, 404, 40408,
     "does not have subject-level compatibility configured"),
    ("no subject mode", "GET", "/mode/p.x-value", None, 404, 40409,
     "does not have subject-level mode configured"),
    # an int @QueryParam that Jersey cannot convert: no route (JAX-RS answers 404)
    ("offset not an int", "GET", "/schemas?offset=first", None, 404, 404, "HTTP 404 Not Found"),
    ("limit not an int", "GET", "/schemas?limit=1.5", None, 404, 404, "HTTP 404 Not Found"),
    ("compat against missing version", "POST", "/compatibility/subjects/p.x-value/versions/1",
     GOOD, 404, 40402, "Version 1 not found."),
    ("compat with invalid avro", "POST", "/compatibility/subjects/p.x-value/versions",
     {"schema": '["int","int"]'}, 422, 42201, "duplicate in union"),
    ("unknown route", "GET", "/nothing/here", None, 404, 404, "Not Found"),
    ("wrong method", "PATCH", "/config", None, 405, 405, "Method Not Allowed"),
    ("control char subject", "GET", "/subjects/a%01b/versions", None, 422, 42208,
     "The specified subject 'a\x01b' is not a valid."),
]


@pytest.mark.parametrize(("case", "method", "path", "body", "status", "code", "text"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input(client: TestClient, case: str, method: str, path: str, body: Any,
                   status: int, code: int, text: str) -> None:
    assert client.post("/subjects/p.have-value/versions", json=GOOD).status_code == 200
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs["content"] = body
        kwargs["headers"] = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    elif body is not None:
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error_code", "message"}
    assert payload["error_code"] == code
    assert text in payload["message"]


@pytest.mark.parametrize("content_type", [
    "application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json",
    "application/json", "application/octet-stream",
])
def test_every_confluent_content_type_is_accepted(client: TestClient, content_type: str) -> None:
    response = client.post("/subjects/p.t-value/versions", content=json.dumps(GOOD),
                           headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.schemaregistry.v1+json"


def test_incompatible_schema_is_409_with_details(client: TestClient) -> None:
    client.post("/subjects/p.t-value/versions", json=schema(("a", "int")))
    response = client.post("/subjects/p.t-value/versions", json=schema(("a", "string")))
    assert response.status_code == 409
    body = response.json()
    assert body["error_code"] == 409
    assert body["message"].startswith(
        'Schema being registered is incompatible with an earlier schema for subject "p.t-value",'
        " details: [{errorType:'TYPE_MISMATCH'")


@pytest.mark.parametrize("body", [{"schema": ""}, {"schema": "  \n"}, {"schema": None}, {}],
                         ids=["empty", "blank", "null", "missing"])
@pytest.mark.parametrize("path", ["/subjects/p.t-value/versions", "/subjects/p.have-value",
                                  "/compatibility/subjects/p.have-value/versions/latest"],
                         ids=["register", "lookup", "compatibility"])
def test_empty_schema_is_confluents_42201(client: TestClient, path: str,
                                          body: dict[str, Any]) -> None:
    """KafkaSchemaRegistry.canonicalizeSchema: a null or blank schema is 'Empty schema'."""
    assert client.post("/subjects/p.have-value/versions", json=GOOD).status_code == 200
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.json() == {"error_code": 42201, "message": "Empty schema"}
