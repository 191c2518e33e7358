"""Avro schemas: parsed with fastavro, turned into a small resolved tree, printed canonically.

fastavro validates the schema (unknown types, defaults, duplicate symbols) and qualifies
every name; the tree built here resolves named references (including recursion) so the
compatibility checker can walk reader and writer side by side. The canonical text
(`avro_text`: Avro Java's `Schema.toString()`, as Confluent stores it) is the deduplication
key: `"string"` and `{"type":"string"}` or a different key order give the same id (Karapace
hashes the raw JSON and gives them different ids).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from lulea.schema_registry.domain.avro_text import (
    ENUM_KEYS,
    FIELD_KEYS,
    FIXED_KEYS,
    NAMED,
    PRIMITIVES,
    RECORD_KEYS,
    canonical_text,
    extra_props,
)
from lulea.schema_registry.domain.errors import invalid_schema

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NO_DEFAULT = object()


@dataclass(eq=False, slots=True)
class Node:
    """One Avro type; `type` is the Avro type name ("record", "int", "union", ...)."""

    type: str
    props: dict[str, Any] = field(default_factory=dict)
    # named types
    fullname: str = ""
    aliases: list[str] = field(default_factory=list)
    doc: str | None = None
    # record
    fields: list[Field] = field(default_factory=list)
    # enum
    symbols: list[str] = field(default_factory=list)
    enum_default: str | None = None
    # fixed
    size: int = 0
    # array / map
    items: Node | None = None
    values: Node | None = None
    # union
    branches: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.fullname.rsplit(".", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.fullname.rsplit(".", 1)[0] if "." in self.fullname else ""

    def qualified_aliases(self) -> list[str]:
        ns = self.namespace
        return [a if "." in a or not ns else f"{ns}.{a}" for a in self.aliases]


@dataclass(eq=False, slots=True)
class Field:
    name: str
    type: Node
    pos: int
    default: Any = NO_DEFAULT
    doc: str | None = None
    order: str | None = None
    aliases: list[str] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(slots=True)
class ParsedSchema:
    root: Node
    canonical: str
    named: dict[str, Any]  # fastavro's named schemas, for parsing schemas that reference these


def parse_avro(text: str, references: dict[str, Any] | None = None) -> ParsedSchema:
    """Parse schema text; `references` holds fastavro named schemas from referenced subjects."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise invalid_schema(f"not valid JSON: {exc}") from None
    named: dict[str, Any] = dict(references or {})
    known = set(named)
    _check_names(raw)
    try:
        parsed = fastavro.parse_schema(raw, named_schemas=named, _write_hint=False)
    except UnknownType as exc:
        raise invalid_schema(f"unknown type: {exc}") from None
    except (SchemaParseException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise invalid_schema(str(exc) or type(exc).__name__) from None
    except RecursionError:
        raise invalid_schema("schema nests too deeply") from None
    builder = _TreeBuilder(named)
    root = builder.build(parsed)
    return ParsedSchema(root=root, canonical=canonical_text(parsed, known), named=named)


def _check_names(raw: Any) -> None:
    """What fastavro leaves to the writer: valid names, no nested or duplicate union branches."""
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            _check_union(node)
            stack.extend(node)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in NAMED:
                name = node.get("name")
                if not isinstance(name, str) or not all(_NAME.match(p) for p in name.split(".")):
                    raise invalid_schema(f"invalid name {name!r} for {kind}")
                ns = node.get("namespace")
                if ns not in (None, "") and not (
                    isinstance(ns, str) and all(_NAME.match(p) for p in ns.split("."))
                ):
                    raise invalid_schema(f"invalid namespace {ns!r} for {name}")
            if kind in ("record", "error"):
                fields = node.get("fields")
                if not isinstance(fields, list):
                    raise invalid_schema(f"record {node.get('name')} has no fields list")
                seen: set[str] = set()
                for f in fields:
                    if not isinstance(f, dict) or not isinstance(f.get("name"), str):
                        raise invalid_schema(f"record {node.get('name')} has a field without name")
                    if not _NAME.match(f["name"]):
                        raise invalid_schema(f"invalid field name {f['name']!r}")
                    if f["name"] in seen:
                        raise invalid_schema(f"duplicate field {f['name']!r}")
                    seen.add(f["name"])
                    if "type" not in f:
                        raise invalid_schema(f"field {f['name']!r} has no type")
                    stack.append(f["type"])
            elif kind == "enum":
                symbols = node.get("symbols")
                if not isinstance(symbols, list) or not all(
                    isinstance(s, str) and _NAME.match(s) for s in symbols
                ):
                    raise invalid_schema(f"enum {node.get('name')} needs a list of valid symbols")
            elif kind == "fixed":
                size = node.get("size")
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise invalid_schema(f"fixed {node.get('name')} needs a size >= 0")
            elif kind in ("array", "map"):
                child = node.get("items" if kind == "array" else "values")
                if child is None:
                    raise invalid_schema(f"{kind} without {'items' if kind == 'array' else 'values'}")
                stack.append(child)
            elif isinstance(kind, list | dict):
                stack.append(kind)
        elif not isinstance(node, str):
            raise invalid_schema(f"not a schema: {json.dumps(node)[:80]}")


def _check_union(branches: list[Any]) -> None:
    """`[]` is valid: Apache Avro parses it (a union that no value can be written with)."""
    seen: set[str] = set()
    for b in branches:
        if isinstance(b, list):
            raise invalid_schema("unions may not immediately contain other unions")
        if isinstance(b, str):
            key = b
        elif isinstance(b, dict):
            t = b.get("type")
            key = str(b.get("name")) if t in NAMED else str(t)
        else:
            raise invalid_schema("a union branch must be a type name or a schema object")
        if key in seen:
            raise invalid_schema(f"duplicate in union: {key}")
        seen.add(key)


class _TreeBuilder:
    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        self.built: dict[str, Node] = {}

    def build(self, s: Any) -> Node:
        if isinstance(s, str):
            if s in PRIMITIVES:
                return Node(type=s)
            if s in self.built:
                return self.built[s]
            return self.build(self.named[s])
        if isinstance(s, list):
            return Node(type="union", branches=[self.build(b) for b in s])
        kind = s["type"]
        if isinstance(kind, dict | list):
            return self.build(kind)
        if kind in PRIMITIVES:
            return Node(type=kind, props={k: v for k, v in s.items() if k != "type"})
        if kind == "array":
            return Node(type="array", items=self.build(s["items"]), props=extra_props(s, {"type", "items"}))
        if kind == "map":
            return Node(type="map", values=self.build(s["values"]), props=extra_props(s, {"type", "values"}))
        name = s["name"]
        if name in self.built:
            return self.built[name]
        if kind in ("record", "error"):
            node = Node(type="record", fullname=name, aliases=list(s.get("aliases", [])),
                        doc=s.get("doc"), props=extra_props(s, RECORD_KEYS))
            self.built[name] = node  # before the fields: recursion resolves to this node
            for pos, f in enumerate(s["fields"]):
                node.fields.append(Field(
                    name=f["name"], type=self.build(f["type"]), pos=pos,
                    default=f.get("default", NO_DEFAULT), doc=f.get("doc"), order=f.get("order"),
                    aliases=list(f.get("aliases", [])), props=extra_props(f, FIELD_KEYS)))
            return node
        if kind == "enum":
            node = Node(type="enum", fullname=name, aliases=list(s.get("aliases", [])),
                        doc=s.get("doc"), symbols=list(s["symbols"]), enum_default=s.get("default"),
                        props=extra_props(s, ENUM_KEYS))
        else:
            node = Node(type="fixed", fullname=name, aliases=list(s.get("aliases", [])),
                        size=int(s["size"]), props=extra_props(s, FIXED_KEYS))
        self.built[name] = node
        return node
