"""Confluent's semantics: global ids, versions, deletes, references, config and modes."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from .conftest import schema

V1 = schema(("a", "int"))
V2 = schema(("a", "int"), ("b", "string", "x"))
V3 = schema(("a", "int"), ("b", "string", "x"), ("c", "long", 0))


def register(client: TestClient, subject: str, body: dict[str, object]) -> int:
    response = client.post(f"/subjects/{subject}/versions", json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def test_same_schema_same_id_in_every_subject(client: TestClient) -> None:
    first = register(client, "p.a-value", V1)
    assert register(client, "p.b-value", V1) == first
    equivalent = {"schema": json.dumps({"fields": [{"type": {"type": "int"}, "name": "a"}],
                                        "name": "R", "type": "record"})}
    assert register(client, "p.c-value", equivalent) == first
    assert client.get(f"/schemas/ids/{first}/subjects").json() == ["p.a-value", "p.b-value",
                                                                    "p.c-value"]
    assert client.get(f"/schemas/ids/{first}/versions").json() == [
        {"subject": "p.a-value", "version": 1}, {"subject": "p.b-value", "version": 1},
        {"subject": "p.c-value", "version": 1}]


def test_reregistering_a_live_schema_adds_no_version(client: TestClient) -> None:
    first = register(client, "p.t-value", V1)
    register(client, "p.t-value", V2)
    assert register(client, "p.t-value", V1) == first
    assert client.get("/subjects/p.t-value/versions").json() == [1, 2]


def test_registration_answers_the_version_with_the_id(client: TestClient) -> None:
    """As newer Confluent registries do (their clients read `version` when present): the
    version of a new registration, of a live schema registered again, and after deletes."""
    def answer(body: dict[str, object]) -> dict[str, object]:
        response = client.post("/subjects/p.t-value/versions", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = answer(V1)
    assert first == {"id": first["id"], "version": 1}
    second = answer(V2)
    assert second["version"] == 2 and second["id"] != first["id"]
    assert answer(V1) == first  # live already: its own version, no new one
    assert client.delete("/subjects/p.t-value/versions/2").json() == 2
    assert answer(V3)["version"] == 3  # version numbers never go back
    assert client.get("/subjects/p.t-value/versions").json() == [1, 3]


def test_versions_follow_the_highest_ever_used(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    register(client, "p.t-value", V2)
    assert client.delete("/subjects/p.t-value/versions/2").json() == 2
    assert client.delete("/subjects/p.t-value/versions/2?permanent=true").json() == 2
    register(client, "p.t-value", V3)
    assert client.get("/subjects/p.t-value/versions").json() == [1, 3]


def test_compatibility_ignores_soft_deleted_versions(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    client.put("/config/p.t-value", json={"compatibility": "BACKWARD_TRANSITIVE"})
    register(client, "p.t-value", V2)
    client.delete("/subjects/p.t-value/versions/1")
    # drops b's default: incompatible with nothing live except v2, which has b
    register(client, "p.t-value", schema(("a", "int"), ("b", "string")))


def test_soft_deleted_schema_stays_resolvable_by_id(client: TestClient) -> None:
    schema_id = register(client, "p.t-value", V1)
    assert client.delete("/subjects/p.t-value").json() == [1]
    assert client.get(f"/schemas/ids/{schema_id}").status_code == 200
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["p.t-value"]
    assert client.get("/subjects?deletedOnly=true").json() == ["p.t-value"]
    assert client.get("/subjects/p.t-value/versions/1").status_code == 404
    assert client.get("/subjects/p.t-value/versions/1?deleted=true").json()["id"] == schema_id
    assert client.delete("/subjects/p.t-value?permanent=true").json() == [1]
    assert client.get(f"/schemas/ids/{schema_id}").json()["error_code"] == 40403


def test_version_reads(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    second = register(client, "p.t-value", V2)
    latest = client.get("/subjects/p.t-value/versions/latest").json()
    assert latest["version"] == 2 and latest["id"] == second and latest["subject"] == "p.t-value"
    assert "schemaType" not in latest and "references" not in latest
    assert client.get("/subjects/p.t-value/versions/-1").json()["version"] == 2
    raw = client.get("/subjects/p.t-value/versions/1/schema")
    assert json.loads(raw.text)["fields"] == [{"name": "a", "type": "int"}]


def test_lookup_finds_the_version(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    register(client, "p.t-value", V2)
    found = client.post("/subjects/p.t-value", json=V1).json()
    assert found["version"] == 1 and found["subject"] == "p.t-value"
    missing = client.post("/subjects/p.t-value", json=V3)
    assert missing.status_code == 404 and missing.json()["error_code"] == 40403
    assert client.post("/subjects/p.none-value", json=V1).json()["error_code"] == 40401


def test_subject_with_encoded_slash(client: TestClient) -> None:
    register(client, "p.a%2Fb-value", V1)
    assert client.get("/subjects").json() == ["p.a/b-value"]
    assert client.get("/subjects/p.a%2Fb-value/versions").json() == [1]
    assert client.get("/subjects/p.a%2Fb-value/versions/1").json()["subject"] == "p.a/b-value"


def test_subject_prefix_filter(client: TestClient) -> None:
    register(client, "p.a-value", V1)
    register(client, "q.a-value", V1)
    assert client.get("/subjects?subjectPrefix=q.").json() == ["q.a-value"]


def test_references_and_referencedby(client: TestClient) -> None:
    dep = {"schema": json.dumps({"type": "record", "name": "a.Dep",
                                 "fields": [{"name": "x", "type": "int"}]})}
    register(client, "p.dep-value", dep)
    main = {"schema": json.dumps({"type": "record", "name": "Main",
                                  "fields": [{"name": "d", "type": "a.Dep"}]}),
            "references": [{"name": "a.Dep", "subject": "p.dep-value", "version": 1}]}
    main_id = register(client, "p.main-value", main)
    got = client.get(f"/schemas/ids/{main_id}").json()
    assert got["references"] == [{"name": "a.Dep", "subject": "p.dep-value", "version": 1}]
    assert client.get("/subjects/p.dep-value/versions/1/referencedby").json() == [main_id]
    refused = client.delete("/subjects/p.dep-value/versions/1")
    assert refused.json()["error_code"] == 42206
    client.delete("/subjects/p.main-value")
    assert client.delete("/subjects/p.dep-value/versions/1").json() == 1


def test_permanent_delete_needs_soft_delete_first(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    assert client.delete("/subjects/p.t-value/versions/1?permanent=true").json()["error_code"] \
        == 40407
    client.delete("/subjects/p.t-value/versions/1")
    again = client.delete("/subjects/p.t-value/versions/1")
    assert again.json()["error_code"] == 40406
    assert client.delete("/subjects/p.t-value").json()["error_code"] == 40404


def test_config_levels(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert client.put("/config/p.t-value", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE"}
    assert client.get("/config/p.t-value").json() == {"compatibilityLevel": "NONE"}
    register(client, "p.t-value", V1)
    register(client, "p.t-value", schema(("z", "string")))  # NONE lets anything through
    assert client.delete("/config/p.t-value").json() == {"compatibilityLevel": "NONE"}
    assert client.get("/config/p.t-value?defaultToGlobal=true").json() == {
        "compatibilityLevel": "FULL"}
    assert client.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_readonly_mode_refuses_writes(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    assert client.put("/mode/p.t-value", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    refused = client.post("/subjects/p.t-value/versions", json=V2)
    assert refused.status_code == 422 and refused.json()["error_code"] == 42205
    assert client.delete("/subjects/p.t-value").json()["error_code"] == 42205
    register(client, "p.other-value", V2)  # other subjects unaffected
    assert client.get("/mode").json() == {"mode": "READWRITE"}


def test_import_mode_keeps_given_ids_and_versions(client: TestClient) -> None:
    assert client.put("/mode", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    assert register(client, "p.t-value", {**V1, "id": 100, "version": 5}) == 100
    clash = client.post("/subjects/p.u-value/versions", json={**V2, "id": 100, "version": 1})
    assert clash.json()["error_code"] == 42207
    client.put("/mode", json={"mode": "READWRITE"})
    assert client.get("/subjects/p.t-value/versions").json() == [5]
    new_id = register(client, "p.t-value", V2)
    assert new_id != 100
    assert client.get("/subjects/p.t-value/versions").json() == [5, 6]


def test_import_mode_on_non_empty_registry_needs_force(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    assert client.put("/mode", json={"mode": "IMPORT"}).json()["error_code"] == 42205
    assert client.put("/mode?force=true", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}


def test_compatibility_endpoint(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    ok = client.post("/compatibility/subjects/p.t-value/versions/latest", json=V2)
    assert ok.json() == {"is_compatible": True}
    verbose = client.post("/compatibility/subjects/p.t-value/versions?verbose=true",
                          json=schema(("a", "int"), ("n", "int")))
    body = verbose.json()
    assert body["is_compatible"] is False
    assert body["messages"][0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
    fresh = client.post("/compatibility/subjects/p.new-value/versions?verbose=true", json=V1)
    assert fresh.json() == {"is_compatible": True, "messages": []}


def test_types_and_root_endpoints(client: TestClient) -> None:
    assert client.get("/schemas/types").json() == ["AVRO"]
    assert client.get("/").json() == {}
    assert client.get("/readyz").json() == {"status": "ok"}
    assert "schema_registry_requests_total" in client.get("/metrics").text


def test_confluent_client_bool_spelling(client: TestClient) -> None:
    response = client.post("/subjects/p.t-value/versions?normalize=False", json=V1)
    assert response.status_code == 200


def test_flags_read_as_java_booleans(client: TestClient) -> None:
    """Jersey reads a `boolean` @QueryParam with Boolean.valueOf: "true" in any case, else false."""
    register(client, "p.t-value", V1)
    client.delete("/subjects/p.t-value")
    for value in ("maybe", "1", "yes", "on", ""):
        response = client.get(f"/subjects?deleted={value}")
        assert response.status_code == 200 and response.json() == [], value
    assert client.get("/subjects?deleted=TRUE").json() == ["p.t-value"]
    assert client.get("/subjects?deleted=True").json() == ["p.t-value"]


def test_paging_takes_any_int(client: TestClient) -> None:
    """Confluent starts at offset 0 for a negative one and pages everything for limit <= 0."""
    register(client, "p.a-value", V1)
    register(client, "p.a-value", V2)
    assert len(client.get("/schemas?offset=-5").json()) == 2
    assert len(client.get("/schemas?limit=0").json()) == 2
    assert len(client.get("/schemas?offset=1&limit=-7").json()) == 1


def test_fetch_max_id(client: TestClient) -> None:
    register(client, "p.t-value", V1)
    second = register(client, "p.t-value", V2)
    assert client.get("/schemas/ids/1?fetchMaxId=true").json()["maxId"] == second


def test_another_replicas_delete_is_seen_after_the_cache_goes_stale() -> None:
    import time

    from lulea.schema_registry.main import create_app
    from lulea.schema_registry.settings import Settings
    from lulea.schema_registry.store.memory import MemoryStore

    store = MemoryStore()
    app = create_app(Settings(every_caller_is_platform=True, id_cache_seconds=0.05), store=store)
    with TestClient(app) as client:
        schema_id = register(client, "p.t-value", V1)
        assert client.get(f"/schemas/ids/{schema_id}").status_code == 200  # cached now
        client.portal.call(store.mark_purged, "p.t-value", 1)  # as if another replica did it
        assert client.get(f"/schemas/ids/{schema_id}").status_code == 200  # still fresh
        time.sleep(0.1)
        deadline = time.monotonic() + 5
        while client.get(f"/schemas/ids/{schema_id}").status_code == 200:
            assert time.monotonic() < deadline, "stale entry never refreshed"
            time.sleep(0.02)
        assert client.get(f"/schemas/ids/{schema_id}").json()["error_code"] == 40403


def test_list_schemas(client: TestClient) -> None:
    register(client, "p.a-value", V1)
    register(client, "p.a-value", V2)
    register(client, "q.b-value", V1)
    listed = client.get("/schemas").json()
    assert [(s["subject"], s["version"], s["id"]) for s in listed] == [
        ("p.a-value", 1, 1), ("p.a-value", 2, 2), ("q.b-value", 1, 1)]
    assert json.loads(listed[0]["schema"])["name"] == "R"
    latest = client.get("/schemas?latestOnly=true&subjectPrefix=p.").json()
    assert [(s["subject"], s["version"]) for s in latest] == [("p.a-value", 2)]
    page = client.get("/schemas?offset=1&limit=1").json()
    assert [(s["subject"], s["version"]) for s in page] == [("p.a-value", 2)]


def test_empty_union_registers_and_evolves(client: TestClient) -> None:
    empty = {"schema": "[]"}
    schema_id = register(client, "p.u-value", empty)
    assert client.get(f"/schemas/ids/{schema_id}").json() == {"schema": "[]"}
    assert client.post("/subjects/p.u-value", json=empty).json()["id"] == schema_id
    assert register(client, "p.v-value", {"schema": " [ ] "}) == schema_id
    # nothing was ever written with an empty union, so any reader reads it (BACKWARD) ...
    check = client.post("/compatibility/subjects/p.u-value/versions/latest?verbose=true",
                        json={"schema": '"int"'})
    assert check.json() == {"is_compatible": True, "messages": []}
    # ... but an empty union reads nothing written with "int"
    client.put("/config/p.u-value", json={"compatibility": "FORWARD"})
    refused = client.post("/subjects/p.u-value/versions", json={"schema": '"int"'})
    assert refused.status_code == 409
    assert "MISSING_UNION_BRANCH" in refused.json()["message"]
    client.put("/config/p.u-value", json={"compatibility": "BACKWARD"})
    register(client, "p.u-value", {"schema": '"int"'})
    assert client.get("/subjects/p.u-value/versions").json() == [1, 2]


NESTED = ('{"type":"record","name":"X","namespace":"foo","fields":['
          '{"name":"y","type":{"type":"record","name":"Y","fields":[]}},{"name":"again","type":"Y"},'
          '{"name":"z","type":{"type":"record","name":"Z","namespace":"bar","fields":['
          '{"name":"y","type":"foo.Y"}]}}]}')
NESTED_DOTTED = {"schema": json.dumps({"type": "record", "name": "foo.X", "fields": [
    {"name": "y", "type": {"type": "record", "name": "foo.Y", "fields": []}},
    {"name": "again", "type": "foo.Y"},
    {"name": "z", "type": {"type": "record", "name": "bar.Z",
                           "fields": [{"name": "y", "type": "foo.Y"}]}}]})}


def test_stored_schema_comes_back_in_avro_javas_form(client: TestClient) -> None:
    """Confluent stores Avro Java's `Schema.toString()`: names split, references relative."""
    schema_id = register(client, "p.t-value", NESTED_DOTTED)
    assert client.get(f"/schemas/ids/{schema_id}").json()["schema"] == NESTED
    assert client.get("/subjects/p.t-value/versions/1/schema").text == NESTED
    assert client.get("/subjects/p.t-value/versions/1").json()["schema"] == NESTED
    assert register(client, "p.u-value", {"schema": NESTED}) == schema_id  # same schema, same id
    assert client.post("/subjects/p.t-value", json={"schema": NESTED}).json()["id"] == schema_id


def test_normalize_keeps_its_own_form(client: TestClient) -> None:
    schema_id = register(client, "p.t-value", {"schema": NESTED})
    response = client.post("/subjects/p.n-value/versions?normalize=true", json={"schema": NESTED})
    normalized_id = response.json()["id"]
    assert normalized_id != schema_id
    stored = client.get(f"/schemas/ids/{normalized_id}").json()["schema"]
    assert json.loads(stored)["name"] == "foo.X"
    again = client.post("/subjects/p.m-value/versions?normalize=true", json=NESTED_DOTTED)
    assert again.json()["id"] == normalized_id
