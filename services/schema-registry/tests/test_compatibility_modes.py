"""Schema evolutions under all seven levels, and Confluent's verbose messages, as tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lulea.schema_registry.domain.avro_schema import parse_avro
from lulea.schema_registry.domain.compatibility import (
    Compatibility,
    PastSchema,
    check_against,
    check_reader_writer,
)

L = Compatibility


def rec(*fields: Any, name: str = "R", **extra: Any) -> str:
    out = []
    for f in fields:
        if isinstance(f, tuple):
            fname, ftype, *default = f
            field: dict[str, Any] = {"name": fname, "type": ftype}
            if default:
                field["default"] = default[0]
            out.append(field)
        else:
            out.append(f)
    return json.dumps({"type": "record", "name": name, "fields": out, **extra})


def enum(*symbols: str, default: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"type": "enum", "name": "E", "symbols": list(symbols)}
    if default:
        e["default"] = default
    return e


# (name, old versions oldest first, new, set of levels that accept `new`)
ALL = set(L)
NON_TRANSITIVE_ONLY = {L.NONE, L.BACKWARD, L.FORWARD, L.FULL}
B = {L.NONE, L.BACKWARD, L.BACKWARD_TRANSITIVE}
F = {L.NONE, L.FORWARD, L.FORWARD_TRANSITIVE}
NONE_ONLY = {L.NONE}

EVOLUTIONS: list[tuple[str, list[str], str, set[Compatibility]]] = [
    ("identical", [rec(("a", "int"))], rec(("a", "int")), ALL),
    ("add field with default", [rec(("a", "int"))], rec(("a", "int"), ("b", "string", "x")), ALL),
    ("add field without default", [rec(("a", "int"))], rec(("a", "int"), ("b", "string")), F),
    ("remove field without default", [rec(("a", "int"), ("b", "string"))], rec(("a", "int")), B),
    ("remove field with default", [rec(("a", "int"), ("b", "string", "x"))], rec(("a", "int")),
     ALL),
    ("promote int to long", [rec(("a", "int"))], rec(("a", "long")), B),
    ("demote long to int", [rec(("a", "long"))], rec(("a", "int")), F),
    ("promote int to double", [rec(("a", "int"))], rec(("a", "double")), B),
    ("promote float to double", [rec(("a", "float"))], rec(("a", "double")), B),
    ("long to float", [rec(("a", "long"))], rec(("a", "float")), B),
    ("string to bytes", [rec(("a", "string"))], rec(("a", "bytes")), ALL),
    ("int to string", [rec(("a", "int"))], rec(("a", "string")), NONE_ONLY),
    ("make optional", [rec(("a", "int"))], rec(("a", ["null", "int"], None)), B),
    ("make required", [rec(("a", ["null", "int"], None))], rec(("a", "int")), F),
    ("add union branch", [rec(("a", ["null", "int"]))], rec(("a", ["null", "int", "string"])), B),
    ("remove union branch", [rec(("a", ["null", "int", "string"]))], rec(("a", ["null", "int"])),
     F),
    ("add enum symbol", [rec(("e", enum("A", "B")))], rec(("e", enum("A", "B", "C"))), B),
    ("remove enum symbol", [rec(("e", enum("A", "B", "C")))], rec(("e", enum("A", "B"))), F),
    ("add enum symbol, old has default", [rec(("e", enum("A", "B", default="A")))],
     rec(("e", enum("A", "B", "C", default="A"))), ALL),
    ("rename field with alias", [rec(("a", "int"))],
     rec({"name": "b", "type": "int", "aliases": ["a"]}), B),
    ("rename record", [rec(("a", "int"))], rec(("a", "int"), name="S"), NONE_ONLY),
    ("rename record with alias", [rec(("a", "int"))], rec(("a", "int"), name="S", aliases=["R"]),
     B),
    ("namespace only change", [rec(("a", "int"))], rec(("a", "int"), namespace="x.y"), ALL),
    ("fixed size change", [rec(("f", {"type": "fixed", "name": "F", "size": 4}))],
     rec(("f", {"type": "fixed", "name": "F", "size": 8})), NONE_ONLY),
    ("array item promotion", [rec(("a", {"type": "array", "items": "int"}))],
     rec(("a", {"type": "array", "items": "long"})), B),
    ("map value change", [rec(("m", {"type": "map", "values": "int"}))],
     rec(("m", {"type": "map", "values": "string"})), NONE_ONLY),
    ("nested record adds field without default",
     [rec(("n", {"type": "record", "name": "N", "fields": [{"name": "x", "type": "int"}]}))],
     rec(("n", {"type": "record", "name": "N", "fields": [
         {"name": "x", "type": "int"}, {"name": "y", "type": "int"}]})), F),
    ("recursive list adds defaulted field",
     [rec(("v", "int"), ("next", ["null", "R"], None))],
     rec(("v", "int"), ("next", ["null", "R"], None), ("t", "string", "")), ALL),
    ("record to union containing it", [rec(("a", "int"))],
     json.dumps(["null", json.loads(rec(("a", "int")))]), B),
    # three versions: the latest is fine, an older one is not
    ("v3 drops default: fine vs v2, not vs v1",
     [rec(("id", "int")), rec(("id", "int"), ("tier", "string", "basic"))],
     rec(("id", "int"), ("tier", "string")),
     {L.NONE, L.BACKWARD, L.FORWARD, L.FULL, L.FORWARD_TRANSITIVE}),
    ("v3 re-adds a field v2 removed, other type",
     [rec(("a", "int"), ("b", "int")), rec(("a", "int"))],
     rec(("a", "int"), ("b", "string", "")),
     {L.NONE, L.BACKWARD, L.FORWARD, L.FULL}),
    ("v3 narrows long back to int after promotion",
     [rec(("a", "int")), rec(("a", "long"))], rec(("a", "int")),
     {L.NONE, L.FORWARD, L.FORWARD_TRANSITIVE}),
    ("v3 adds enum symbol over two versions", [rec(("e", enum("A"))), rec(("e", enum("A", "B")))],
     rec(("e", enum("A", "B", "C"))), B),
]


def _history(texts: list[str]) -> list[PastSchema]:
    return [PastSchema(i + 1, parse_avro(t).root, parse_avro(t).canonical)
            for i, t in enumerate(texts)]


@pytest.mark.parametrize("level", list(L))
@pytest.mark.parametrize(("name", "old", "new", "accepted"), EVOLUTIONS,
                         ids=[e[0] for e in EVOLUTIONS])
def test_evolution_under_each_level(name: str, old: list[str], new: str,
                                    accepted: set[Compatibility],
                                    level: Compatibility) -> None:
    messages = check_against(level, parse_avro(new).root, _history(old))
    assert (not messages) == (level in accepted), messages


def _messages(level: Compatibility, old: str, new: str) -> list[str]:
    return check_against(level, parse_avro(new).root, _history([old]))


VERBOSE: list[tuple[str, Compatibility, str, str, str]] = [
    ("missing default, backward", L.BACKWARD, rec(("a", "int")), rec(("a", "int"), ("c", "string")),
     "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'c' at path"
     " '/fields/1' in the new schema has no default value and is missing in the old schema',"
     " additionalInfo:'c'}"),
    ("missing default, forward (rename)", L.FORWARD, rec(("a", "int"), ("total", "int")),
     rec(("a", "int"), ("amount", "int")),
     "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'total' at path"
     " '/fields/1' in the old schema has no default value and is missing in the new schema',"
     " additionalInfo:'total'}"),
    ("type mismatch", L.BACKWARD, rec(("a", "int")), rec(("a", "string")),
     "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the"
     " new schema does not match with the old schema', additionalInfo:'reader type: STRING not"
     " compatible with writer type: INT'}"),
    ("name mismatch", L.BACKWARD, rec(("a", "int")), rec(("a", "int"), name="S"),
     "{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path"
     " '/name')', additionalInfo:'expected: R'}"),
    ("missing enum symbols", L.BACKWARD, rec(("e", enum("A", "B", "C"))), rec(("e", enum("A"))),
     "{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols"
     " '[B, C]' at path '/fields/0/type/symbols' in the old schema', additionalInfo:'[B, C]'}"),
    ("fixed size", L.BACKWARD, rec(("f", {"type": "fixed", "name": "F", "size": 4})),
     rec(("f", {"type": "fixed", "name": "F", "size": 16})),
     "{errorType:'FIXED_SIZE_MISMATCH', description:'The size of FIXED type field at path"
     " '/fields/0/type/size' in the new schema does not match with the old schema',"
     " additionalInfo:'expected: 4, found: 16'}"),
    ("missing union branch (union writer)", L.BACKWARD, rec(("a", ["null", "int", "string"])),
     rec(("a", ["null", "int"])),
     "{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a"
     " union field at path '/fields/0/type/2' in the old schema', additionalInfo:'reader union"
     " lacking writer type: STRING'}"),
    ("missing union branch (plain writer)", L.BACKWARD, rec(("a", "boolean")),
     rec(("a", ["null", "int"])),
     "{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a"
     " union field at path '/fields/0/type' in the old schema', additionalInfo:'reader union"
     " lacking writer type: BOOLEAN'}"),
]


@pytest.mark.parametrize(("name", "level", "old", "new", "expected"), VERBOSE,
                         ids=[v[0] for v in VERBOSE])
def test_verbose_message(name: str, level: Compatibility, old: str, new: str,
                         expected: str) -> None:
    messages = _messages(level, old, new)
    assert messages[0] == expected
    assert messages[-3:] == ["{oldSchemaVersion: 1}", f"{{oldSchema: '{parse_avro(old).canonical}'}}",
                             f"{{compatibility: '{level}'}}"]


def test_full_reports_both_directions() -> None:
    messages = _messages(L.FULL, rec(("a", "int")), rec(("b", "int")))
    assert any("'b' at path '/fields/0' in the new schema" in m for m in messages)
    assert any("'a' at path '/fields/0' in the old schema" in m for m in messages)


def test_transitive_names_the_first_broken_version_from_newest() -> None:
    old = [rec(("id", "int")), rec(("id", "int"), ("t", "string", "b"))]
    messages = check_against(L.BACKWARD_TRANSITIVE, parse_avro(rec(("id", "int"), ("t", "string"))).root,
                             _history(old))
    assert "{oldSchemaVersion: 1}" in messages


def test_recursion_terminates_and_is_compatible_with_itself() -> None:
    tree = parse_avro(rec(("v", "int"), ("kids", {"type": "array", "items": "R"}))).root
    assert check_reader_writer(tree, tree) == []


def test_mutually_recursive_records() -> None:
    a = {"type": "record", "name": "A", "fields": [
        {"name": "b", "type": ["null", {"type": "record", "name": "B", "fields": [
            {"name": "a", "type": ["null", "A"]}]}]}]}
    a2 = json.loads(json.dumps(a))
    a2["fields"][0]["type"][1]["fields"].append({"name": "n", "type": "int"})
    old, new = parse_avro(json.dumps(a)).root, parse_avro(json.dumps(a2)).root
    found = check_reader_writer(new, old)
    # as in Avro Java: the nested record fails inside a union, so the union branch is reported
    assert [(i.type, i.location) for i in found] == [("MISSING_UNION_BRANCH", "/fields/0/type/1")]
    assert check_reader_writer(old, new) == []
