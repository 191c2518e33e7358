"""Avro reader/writer compatibility, as Apache Avro's `SchemaCompatibility` decides it.

The walk mirrors Avro Java (which Confluent calls): same error types, the same JSON-pointer
locations (`/fields/1/type/symbols`) and the same messages, so verbose answers read like
Confluent's: `{errorType:'...', description:'...', additionalInfo:'...'}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lulea.core.compatibility import Compatibility
from lulea.schema_registry.domain.avro_schema import Node


class IncompatibilityType(StrEnum):
    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"


@dataclass(frozen=True, slots=True)
class Incompatibility:
    type: IncompatibilityType
    location: str
    message: str  # Avro's `getMessage()`: the field name, the missing symbols, "expected: ..."

    def describe(self, reader: str, writer: str) -> str:
        """Confluent's `Difference.error()`; reader/writer are "new"/"old" by direction."""
        p, m = self.location, self.message
        text = {
            IncompatibilityType.FIXED_SIZE_MISMATCH:
                f"The size of FIXED type field at path '{p}' in the {reader} schema does not match"
                f" with the {writer} schema",
            IncompatibilityType.TYPE_MISMATCH:
                f"The type (path '{p}') of a field in the {reader} schema does not match with the"
                f" {writer} schema",
            IncompatibilityType.NAME_MISMATCH: f"The name of the schema has changed (path '{p}')",
            IncompatibilityType.MISSING_ENUM_SYMBOLS:
                f"The {reader} schema is missing enum symbols '{m}' at path '{p}' in the {writer}"
                " schema",
            IncompatibilityType.MISSING_UNION_BRANCH:
                f"The {reader} schema is missing a type inside a union field at path '{p}' in the"
                f" {writer} schema",
            IncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE:
                f"The field '{m}' at path '{p}' in the {reader} schema has no default value and is"
                f" missing in the {writer} schema",
        }[self.type]
        return f"{{errorType:'{self.type}', description:'{text}', additionalInfo:'{m}'}}"


_PROMOTIONS = {
    "long": {"int"},
    "float": {"int", "long"},
    "double": {"int", "long", "float"},
    "bytes": {"string"},
    "string": {"bytes"},
}


def check_reader_writer(reader: Node, writer: Node) -> list[Incompatibility]:
    """Every reason `reader` cannot decode data written with `writer` (empty: compatible)."""
    return _Checker().check(reader, writer, [])


class _Checker:
    def __init__(self) -> None:
        # (reader, writer) pairs in progress or done; recursion assumes compatible, as Avro does
        self.memo: dict[tuple[int, int], list[Incompatibility]] = {}

    def check(self, reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
        key = (id(reader), id(writer))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = []
        result = self._calculate(reader, writer, loc)
        self.memo[key] = result
        return result

    def _at(self, part: str, reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
        loc.append(part)
        try:
            return self.check(reader, writer, loc)
        finally:
            loc.pop()

    def _calculate(self, reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
        if reader.type == writer.type:
            return self._same_type(reader, writer, loc)
        if writer.type == "union":
            out: list[Incompatibility] = []
            for i, branch in enumerate(writer.branches):
                out += self._at(str(i), reader, branch, loc)
            return out
        if reader.type == "union":
            for branch in reader.branches:
                if not self.check(branch, writer, list(loc)):
                    return []
            return [_incompatible(IncompatibilityType.MISSING_UNION_BRANCH,
                                  f"reader union lacking writer type: {writer.type.upper()}", loc)]
        if writer.type in _PROMOTIONS.get(reader.type, ()):
            return []
        return [_type_mismatch(reader, writer, loc)]

    def _same_type(self, reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
        kind = reader.type
        if kind == "array":
            assert reader.items is not None and writer.items is not None
            return self._at("items", reader.items, writer.items, loc)
        if kind == "map":
            assert reader.values is not None and writer.values is not None
            return self._at("values", reader.values, writer.values, loc)
        if kind == "fixed":
            out = _check_names(reader, writer, loc)
            if reader.size != writer.size:
                loc.append("size")
                out.append(_incompatible(IncompatibilityType.FIXED_SIZE_MISMATCH,
                                         f"expected: {writer.size}, found: {reader.size}", loc))
                loc.pop()
            return out
        if kind == "enum":
            out = _check_names(reader, writer, loc)
            missing = sorted(set(writer.symbols) - set(reader.symbols))
            default_ok = reader.enum_default is not None and reader.enum_default in reader.symbols
            if missing and not default_ok:
                loc.append("symbols")
                out.append(_incompatible(IncompatibilityType.MISSING_ENUM_SYMBOLS,
                                         f"[{', '.join(missing)}]", loc))
                loc.pop()
            return out
        if kind == "record":
            return _check_names(reader, writer, loc) + self._fields(reader, writer, loc)
        if kind == "union":
            out = []
            for i, branch in enumerate(writer.branches):
                loc.append(str(i))
                if self.check(reader, branch, loc):
                    out.append(_incompatible(
                        IncompatibilityType.MISSING_UNION_BRANCH,
                        f"reader union lacking writer type: {branch.type.upper()}", loc))
                loc.pop()
            return out
        return []  # same primitive

    def _fields(self, reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
        out: list[Incompatibility] = []
        loc.append("fields")
        by_name = {f.name: f for f in writer.fields}
        for rf in reader.fields:
            loc.append(str(rf.pos))
            wf = by_name.get(rf.name)
            if wf is None:
                wf = next((by_name[a] for a in rf.aliases if a in by_name), None)
            if wf is not None:
                out += self._at("type", rf.type, wf.type, loc)
            elif not rf.has_default:
                if rf.type.type == "enum" and rf.type.enum_default is not None:
                    out += self._at("type", rf.type, writer, loc)  # Avro Java does exactly this
                else:
                    out.append(_incompatible(
                        IncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE, rf.name, loc))
            loc.pop()
        loc.pop()
        return out


def _location(loc: Sequence[str]) -> str:
    return "/" + "/".join(loc)


def _incompatible(kind: IncompatibilityType, message: str, loc: list[str]) -> Incompatibility:
    return Incompatibility(kind, _location(loc), message)


def _type_mismatch(reader: Node, writer: Node, loc: list[str]) -> Incompatibility:
    return _incompatible(
        IncompatibilityType.TYPE_MISMATCH,
        f"reader type: {reader.type.upper()} not compatible with writer type: {writer.type.upper()}",
        loc)


def _check_names(reader: Node, writer: Node, loc: list[str]) -> list[Incompatibility]:
    if reader.name == writer.name or writer.fullname in reader.qualified_aliases():
        return []
    loc.append("name")
    try:
        return [_incompatible(IncompatibilityType.NAME_MISMATCH, f"expected: {writer.fullname}", loc)]
    finally:
        loc.pop()


@dataclass(frozen=True, slots=True)
class PastSchema:
    version: int
    root: Node
    canonical: str


def check_against(level: Compatibility, new: Node, history: Sequence[PastSchema]) -> list[str]:
    """Confluent's verbose messages for registering `new` over the live `history` (oldest first).

    Empty means compatible. Non-transitive levels look at the latest live version only.
    """
    if level is Compatibility.NONE or not history:
        return []
    targets = history if level.transitive else history[-1:]
    messages: list[str] = []
    for past in reversed(targets):
        found: list[str] = []
        if level.backward:
            found += [i.describe("new", "old") for i in check_reader_writer(new, past.root)]
        if level.forward:
            found += [i.describe("old", "new") for i in check_reader_writer(past.root, new)]
        if found:
            messages += found
            messages.append(f"{{oldSchemaVersion: {past.version}}}")
            messages.append(f"{{oldSchema: '{past.canonical}'}}")
            messages.append(f"{{compatibility: '{level}'}}")
            break  # Confluent stops at the first incompatible version
    return messages
