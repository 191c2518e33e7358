"""Every reader/writer pair of a corpus, checked against Apache Avro's own checker.

The corpus wraps ~30 field types in a record (so every promotion, union, enum, fixed, array,
map and nested-record combination meets every other), plus record-shape variants (fields
added or dropped, defaults, aliases, renames, recursion). Apache Avro's Python port of
`SchemaCompatibility` (PyPI `avro`) is the oracle for the verdict and the error types.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.schema import parse as avro_parse

from lulea.schema_registry.domain.avro_schema import parse_avro
from lulea.schema_registry.domain.compatibility import check_reader_writer

FIELD_TYPES: dict[str, Any] = {
    "null": "null",
    "boolean": "boolean",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "bytes": "bytes",
    "string": "string",
    "date": {"type": "int", "logicalType": "date"},
    "null|int": ["null", "int"],
    "null|long": ["null", "long"],
    "null|string": ["null", "string"],
    "int|string": ["int", "string"],
    "null|int|string": ["null", "int", "string"],
    "empty union": [],
    "array<int>": {"type": "array", "items": "int"},
    "array<long>": {"type": "array", "items": "long"},
    "array<string>": {"type": "array", "items": "string"},
    "map<int>": {"type": "map", "values": "int"},
    "map<double>": {"type": "map", "values": "double"},
    "enum[A,B]": {"type": "enum", "name": "E", "symbols": ["A", "B"]},
    "enum[A,B,C]": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]},
    "enum[A,B]*A": {"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"},
    "enum2[A,B]": {"type": "enum", "name": "E2", "symbols": ["A", "B"]},
    "fixed4": {"type": "fixed", "name": "F", "size": 4},
    "fixed8": {"type": "fixed", "name": "F", "size": 8},
    "fixed4-other": {"type": "fixed", "name": "G", "size": 4},
    "rec{x:int}": {"type": "record", "name": "N", "fields": [{"name": "x", "type": "int"}]},
    "rec{x:long}": {"type": "record", "name": "N", "fields": [{"name": "x", "type": "long"}]},
    "rec{x:int,y:str=}": {"type": "record", "name": "N", "fields": [
        {"name": "x", "type": "int"}, {"name": "y", "type": "string", "default": ""}]},
    "rec{x:int,y:str}": {"type": "record", "name": "N", "fields": [
        {"name": "x", "type": "int"}, {"name": "y", "type": "string"}]},
    "null|rec{x:int}": ["null", {"type": "record", "name": "N", "fields": [
        {"name": "x", "type": "int"}]}],
}


def _wrap(field_type: Any) -> str:
    return json.dumps({"type": "record", "name": "R", "namespace": "lulea.t",
                       "fields": [{"name": "f", "type": field_type}]})


def _record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> str:
    return json.dumps({"type": "record", "name": name, "fields": list(fields), **extra})


SHAPES: dict[str, str] = {
    "a": _record({"name": "a", "type": "int"}),
    "a,b": _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
    "a,b=": _record({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}),
    "a,c=": _record({"name": "a", "type": "int"}, {"name": "c", "type": "long", "default": 0}),
    "b": _record({"name": "b", "type": "string"}),
    "a=": _record({"name": "a", "type": "int", "default": 1}),
    "a2(alias a)": _record({"name": "a2", "type": "int", "aliases": ["a"]}),
    "a(renamed rec)": _record({"name": "a", "type": "int"}, name="S"),
    "a(rec alias R)": _record({"name": "a", "type": "int"}, name="S", aliases=["R"]),
    "empty": _record(),
    "opt b": _record({"name": "a", "type": "int"},
                     {"name": "b", "type": ["null", "string"], "default": None}),
    "list": _record({"name": "v", "type": "int"},
                    {"name": "next", "type": ["null", "R"], "default": None}),
    "list-long": _record({"name": "v", "type": "long"},
                         {"name": "next", "type": ["null", "R"], "default": None}),
    "list+tag": _record({"name": "v", "type": "int"},
                        {"name": "next", "type": ["null", "R"], "default": None},
                        {"name": "tag", "type": "string"}),
    "tree": _record({"name": "v", "type": "int"},
                    {"name": "kids", "type": {"type": "array", "items": "R"}}),
}

CORPUS = {f"R{{f:{k}}}": _wrap(v) for k, v in FIELD_TYPES.items()}
SHAPE_PAIRS = [(r, w) for r in SHAPES for w in SHAPES]
FIELD_PAIRS = [(r, w) for r in CORPUS for w in CORPUS]


def _oracle(reader: str, writer: str) -> tuple[bool, Counter[str]]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro_parse(reader), avro_parse(writer))
    kinds = Counter(i.name.upper() for i in result.incompatibilities)
    return result.compatibility is SchemaCompatibilityType.compatible, kinds


def _ours(reader: str, writer: str) -> tuple[bool, Counter[str]]:
    found = check_reader_writer(parse_avro(reader).root, parse_avro(writer).root)
    return not found, Counter(str(i.type) for i in found)


@pytest.mark.parametrize(("reader", "writer"), FIELD_PAIRS)
def test_field_type_pairs_match_apache_avro(reader: str, writer: str) -> None:
    ours_ok, ours_kinds = _ours(CORPUS[reader], CORPUS[writer])
    oracle_ok, oracle_kinds = _oracle(CORPUS[reader], CORPUS[writer])
    assert ours_ok == oracle_ok, (reader, writer, ours_kinds, oracle_kinds)
    assert set(ours_kinds) == set(oracle_kinds)


@pytest.mark.parametrize(("reader", "writer"), SHAPE_PAIRS)
def test_record_shape_pairs_match_apache_avro(reader: str, writer: str) -> None:
    ours_ok, ours_kinds = _ours(SHAPES[reader], SHAPES[writer])
    oracle_ok, oracle_kinds = _oracle(SHAPES[reader], SHAPES[writer])
    assert ours_ok == oracle_ok, (reader, writer, ours_kinds, oracle_kinds)
    assert set(ours_kinds) == set(oracle_kinds)


def test_the_corpus_is_not_trivially_compatible() -> None:
    verdicts = Counter(_ours(CORPUS[r], CORPUS[w])[0] for r, w in FIELD_PAIRS)
    assert verdicts[True] > 50 and verdicts[False] > 500
