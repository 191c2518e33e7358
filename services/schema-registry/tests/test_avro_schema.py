"""Parsing: invalid schemas refused with a reason; equivalent schemas share a canonical text."""

from __future__ import annotations

import json

import fastavro
import pytest

from lulea.schema_registry.domain.avro_schema import parse_avro
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError

INVALID: list[tuple[str, str, str]] = [
    ("not json", "{nope", "not valid JSON"),
    ("unknown type", '{"type":"foo"}', "unknown type"),
    ("unknown named reference", '{"type":"record","name":"R","fields":[{"name":"a","type":"X"}]}',
     "unknown type"),
    ("record without name", '{"type":"record","fields":[]}', "invalid name"),
    ("record name starts with digit", '{"type":"record","name":"1R","fields":[]}',
     "invalid name"),
    ("bad namespace", '{"type":"record","name":"R","namespace":"a..b","fields":[]}',
     "invalid namespace"),
    ("record without fields", '{"type":"record","name":"R"}', "no fields list"),
    ("field without type", '{"type":"record","name":"R","fields":[{"name":"a"}]}', "has no type"),
    ("field without name", '{"type":"record","name":"R","fields":[{"type":"int"}]}',
     "field without name"),
    ("bad field name", '{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}',
     "invalid field name"),
    ("duplicate field", '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},'
     '{"name":"a","type":"long"}]}', "duplicate field"),
    ("bad default", '{"type":"record","name":"R","fields":[{"name":"a","type":"int",'
     '"default":"x"}]}', "Default value"),
    ("enum without symbols", '{"type":"enum","name":"E"}', "valid symbols"),
    ("enum with bad symbol", '{"type":"enum","name":"E","symbols":["A","1B"]}', "valid symbols"),
    ("enum duplicate symbol", '{"type":"enum","name":"E","symbols":["A","A"]}', "unique"),
    ("enum default not a symbol", '{"type":"enum","name":"E","symbols":["A"],"default":"B"}', ""),
    ("fixed without size", '{"type":"fixed","name":"F"}', "size"),
    ("fixed negative size", '{"type":"fixed","name":"F","size":-1}', "size"),
    ("array without items", '{"type":"array"}', "without items"),
    ("map without values", '{"type":"map"}', "without values"),
    ("nested union", '["null",["int","string"]]', "unions may not immediately contain"),
    ("duplicate union branch", '["int","int"]', "duplicate in union"),
    ("number as schema", "42", "not a schema"),
    ("null as schema", "null", "not a schema"),
    ("redefined name", '{"type":"record","name":"R","fields":[{"name":"a","type":'
     '{"type":"record","name":"R","fields":[]}}]}', ""),
]


@pytest.mark.parametrize(("name", "text", "reason"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_schema_is_refused_with_a_reason(name: str, text: str, reason: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_avro(text)
    assert caught.value.code is ErrorCode.INVALID_SCHEMA
    assert caught.value.message.startswith("Invalid schema: ")
    assert reason in caught.value.message


SAME: list[tuple[str, str, str]] = [
    ("primitive as object", '"string"', '{"type":"string"}'),
    ("key order", '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}',
     '{"fields":[{"type":"int","name":"a"}],"name":"R","type":"record"}'),
    ("whitespace", '{"type":"record","name":"R","fields":[]}',
     '{ "type" : "record" ,\n "name" : "R", "fields" : [ ] }'),
    ("namespace split or dotted", '{"type":"record","name":"a.b.R","fields":[]}',
     '{"type":"record","name":"R","namespace":"a.b","fields":[]}'),
    ("nested primitive object", '{"type":"array","items":"int"}',
     '{"type":"array","items":{"type":"int"}}'),
    ("default order ascending", '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}',
     '{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"ascending"}]}'),
]

DIFFERENT: list[tuple[str, str, str]] = [
    ("default changed", '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}',
     '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2}]}'),
    ("doc changed", '{"type":"record","name":"R","doc":"x","fields":[]}',
     '{"type":"record","name":"R","doc":"y","fields":[]}'),
    ("logical type", '"long"', '{"type":"long","logicalType":"timestamp-millis"}'),
    ("namespace", '{"type":"record","name":"R","fields":[]}',
     '{"type":"record","name":"x.R","fields":[]}'),
]


@pytest.mark.parametrize(("name", "a", "b"), SAME, ids=[s[0] for s in SAME])
def test_equivalent_schemas_share_canonical_text(name: str, a: str, b: str) -> None:
    assert parse_avro(a).canonical == parse_avro(b).canonical


@pytest.mark.parametrize(("name", "a", "b"), DIFFERENT, ids=[s[0] for s in DIFFERENT])
def test_meaningful_changes_change_canonical_text(name: str, a: str, b: str) -> None:
    assert parse_avro(a).canonical != parse_avro(b).canonical


CANONICAL_ROUND_TRIP = [
    '{"type":"record","name":"R","namespace":"n","fields":[{"name":"e","type":{"type":"enum",'
    '"name":"E","symbols":["A","B"],"default":"A"}},{"name":"again","type":"E"},'
    '{"name":"inner","type":{"type":"record","name":"Top","namespace":"","fields":[]}}]}',
    '{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"],"default":null},'
    '{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},'
    '{"name":"m","type":{"type":"map","values":{"type":"fixed","name":"F","size":2}}}]}',
]


@pytest.mark.parametrize("text", CANONICAL_ROUND_TRIP)
def test_canonical_text_parses_back_to_itself(text: str) -> None:
    canonical = parse_avro(text).canonical
    assert parse_avro(canonical).canonical == canonical
    fastavro.parse_schema(json.loads(canonical))  # clients parse what we serve


def test_null_namespace_type_inside_namespace_keeps_its_name() -> None:
    canonical = parse_avro(CANONICAL_ROUND_TRIP[0]).canonical
    assert '"name":"Top","namespace":""' in canonical
    assert '"type":"E"' in canonical  # Avro Java: a reference inside its namespace is short


def test_references_supply_named_types() -> None:
    dep = parse_avro('{"type":"record","name":"a.Dep","fields":[{"name":"x","type":"int"}]}')
    main = parse_avro('{"type":"record","name":"Main","fields":[{"name":"d","type":"a.Dep"}]}',
                      dep.named)
    assert main.root.fields[0].type.fullname == "a.Dep"
    assert '"type":"a.Dep"' in main.canonical  # referenced, not inlined


def test_empty_union_is_a_schema() -> None:
    """Apache Avro's own tests parse `[]`: a union with no branch (no value can be written)."""
    parsed = parse_avro("[]")
    assert parsed.root.type == "union" and parsed.root.branches == []
    assert parsed.canonical == "[]"
    field = parse_avro('{"type":"record","name":"R","fields":[{"name":"never","type":[]}]}')
    assert field.root.fields[0].type.branches == []
