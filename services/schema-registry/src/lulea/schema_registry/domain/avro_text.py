"""How a parsed Avro schema is printed: Avro Java's `Schema.toString()`, and the normalized form.

The stored text (and the dedup key) is what Confluent stores: `AvroSchema.canonicalString()`,
which is Avro Java's `Schema.toString()` with the referenced schemas known up front:
- compact JSON; `{"type":"int"}` becomes `"int"`;
- a named type prints its short `name`, and `namespace` only where it differs from the
  enclosing one (`""` for a type without one inside a namespace);
- a named type is defined once; later it is a reference, short inside its own namespace;
- keys in Avro Java's order: type, name, namespace, doc, the body (fields, symbols and
  default, size, items, values), custom properties as written, then aliases;
- doc, defaults, field order and aliases are kept, so changing them registers a new version.

`normalize=true` has its own form (full names, aliases and properties sorted).

Input is fastavro's parsed schema: every name full, custom properties in the written order.
"""

from __future__ import annotations

import json
from typing import Any

import fastavro

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
# Avro Java's reserved attributes: never custom properties (SCHEMA_RESERVED, FIELD_RESERVED)
SCHEMA_RESERVED = frozenset({"doc", "fields", "items", "name", "namespace", "size", "symbols",
                             "values", "type", "aliases"})
ENUM_RESERVED = SCHEMA_RESERVED | {"default"}
FIELD_RESERVED = frozenset({"default", "doc", "name", "order", "type", "aliases"})


def extra_props(s: dict[str, Any], known: set[str] | frozenset[str]) -> dict[str, Any]:
    """Custom properties in the written order (fastavro's own markers left out)."""
    return {k: v for k, v in s.items() if k not in known and not k.startswith("__fastavro")}


def _space(fullname: str) -> str | None:
    return fullname.rsplit(".", 1)[0] if "." in fullname else None


def _relative(fullname: str, space: str | None) -> str:
    """Avro Java's `Name.getQualified(space)`: short inside its own namespace."""
    return fullname.rsplit(".", 1)[-1] if _space(fullname) in (None, space) else fullname


def canonical_text(parsed: Any, known: set[str]) -> str:
    """Avro Java's `Schema.toString()`; `known` names (from references) print as references."""
    tree = _JavaPrinter(set(known)).emit(parsed, None)
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False)


class _JavaPrinter:
    def __init__(self, defined: set[str]) -> None:
        self.defined = defined

    def emit(self, s: Any, space: str | None) -> Any:
        if isinstance(s, str):
            return s if s in PRIMITIVES else _relative(s, space)
        if isinstance(s, list):
            return [self.emit(b, space) for b in s]
        kind = s["type"]
        if isinstance(kind, dict | list):
            return self.emit(kind, space)
        if kind in PRIMITIVES:
            props = extra_props(s, SCHEMA_RESERVED)
            return {"type": kind, **props} if props else kind
        if kind in ("array", "map"):
            child = "items" if kind == "array" else "values"
            return {"type": kind, child: self.emit(s[child], space),
                    **extra_props(s, SCHEMA_RESERVED)}
        if s["name"] in self.defined:
            return _relative(s["name"], space)
        self.defined.add(s["name"])
        return self._named(s, kind, space)

    def _named(self, s: dict[str, Any], kind: str, space: str | None) -> dict[str, Any]:
        fullname: str = s["name"]
        own = _space(fullname)
        out: dict[str, Any] = {"type": kind, "name": fullname.rsplit(".", 1)[-1]}
        if own != space:
            out["namespace"] = own or ""  # "" keeps a type without namespace from inheriting one
        if s.get("doc") is not None:
            out["doc"] = s["doc"]
        reserved = SCHEMA_RESERVED
        if kind in ("record", "error"):
            out["fields"] = [self._field(f, own) for f in s["fields"]]
        elif kind == "enum":
            out["symbols"] = s["symbols"]
            if s.get("default") is not None:
                out["default"] = s["default"]
            reserved = ENUM_RESERVED
        else:
            out["size"] = s["size"]
        out.update(extra_props(s, reserved))
        if s.get("aliases"):
            out["aliases"] = [_relative(a if "." in a or own is None else f"{own}.{a}", own)
                              for a in s["aliases"]]
        return out

    def _field(self, f: dict[str, Any], space: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f["name"], "type": self.emit(f["type"], space)}
        if f.get("doc") is not None:
            out["doc"] = f["doc"]
        if "default" in f:
            out["default"] = f["default"]
        order = str(f.get("order") or "ascending").lower()
        if order != "ascending":
            out["order"] = order
        if f.get("aliases"):
            out["aliases"] = list(f["aliases"])
        out.update(extra_props(f, FIELD_RESERVED))
        return out


# -- normalize=true ---------------------------------------------------------------------

# the attributes a type's own keys cover (the rest are its custom properties)
RECORD_KEYS = frozenset({"type", "name", "namespace", "doc", "aliases", "fields"})
FIELD_KEYS = frozenset({"name", "type", "doc", "default", "order", "aliases"})
ENUM_KEYS = frozenset({"type", "name", "namespace", "doc", "aliases", "symbols", "default"})
FIXED_KEYS = frozenset({"type", "name", "namespace", "aliases", "size"})


def normalized_text(text: str, references: dict[str, Any] | None = None) -> str:
    """The `normalize=true` form: full names, fixed key order, aliases and properties sorted."""
    named: dict[str, Any] = dict(references or {})
    known = set(named)
    parsed = fastavro.parse_schema(json.loads(text), named_schemas=named, _write_hint=False)
    tree = _NormalizedPrinter(known).emit(parsed, "")
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False)


class _NormalizedPrinter:
    def __init__(self, defined: set[str]) -> None:
        self.defined = defined

    def emit(self, s: Any, ns: str) -> Any:
        if isinstance(s, str):
            return s
        if isinstance(s, list):
            return [self.emit(b, ns) for b in s]
        kind = s["type"]
        if isinstance(kind, dict | list):
            return self.emit(kind, ns)
        if kind in PRIMITIVES:
            extra = extra_props(s, {"type"})
            return {"type": kind, **dict(sorted(extra.items()))} if extra else kind
        if kind in ("array", "map"):
            child = "items" if kind == "array" else "values"
            extra = extra_props(s, {"type", child})
            return {"type": kind, child: self.emit(s[child], ns), **dict(sorted(extra.items()))}
        name = s["name"]
        if name in self.defined:
            return name
        self.defined.add(name)
        return self._named(s, kind, name, ns)

    def _named(self, s: dict[str, Any], kind: str, name: str, ns: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind, "name": name}
        own_ns = name.rsplit(".", 1)[0] if "." in name else ""
        if not own_ns and ns:
            out["namespace"] = ""  # keep a null-namespace type from being re-qualified
        if kind in ("record", "error", "enum") and s.get("doc") is not None:
            out["doc"] = s["doc"]
        if s.get("aliases"):
            out["aliases"] = sorted(s["aliases"])
        if kind in ("record", "error"):
            out["fields"] = [self._field(f, own_ns) for f in s["fields"]]
            known = RECORD_KEYS
        elif kind == "enum":
            out["symbols"] = s["symbols"]
            if s.get("default") is not None:
                out["default"] = s["default"]
            known = ENUM_KEYS
        else:
            out["size"] = s["size"]
            known = FIXED_KEYS
        out.update(sorted(extra_props(s, known).items()))
        return out

    def _field(self, f: dict[str, Any], ns: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f["name"], "type": self.emit(f["type"], ns)}
        if f.get("doc") is not None:
            out["doc"] = f["doc"]
        if "default" in f:
            out["default"] = f["default"]
        if f.get("order") not in (None, "ascending"):
            out["order"] = f["order"]
        if f.get("aliases"):
            out["aliases"] = sorted(f["aliases"])
        out.update(sorted(extra_props(f, FIELD_KEYS).items()))
        return out
