"""Turn a pydantic JSON schema into a Kubernetes *structural* OpenAPI v3 schema.

Kubernetes refuses `$ref`, `anyOf` without types at every level, `title`-free is not
required but noise, and `additionalProperties: false` (unknown fields are pruned, and
kubectl's strict field validation reports them). So:
- `$ref` is inlined (siblings such as `description` win over the referenced definition);
- `anyOf: [X, {type: null}]` (an `Optional`) becomes X: an absent or null field is the
  same thing to the API server, which drops nulls of non-nullable fields before defaulting;
- `title`, `default: null` and `additionalProperties: false` are dropped.
Anything else that is not structural raises, so a model change cannot slip a bad schema in.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROP = {"title", "$defs"}
_NULL = {"type": "null"}


class SchemaError(ValueError):
    """A model produced a schema Kubernetes would refuse."""


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _convert(raw, raw.get("$defs", {}), model.__name__)


def _convert(node: dict[str, Any], defs: dict[str, Any], where: str) -> dict[str, Any]:
    node = dict(node)
    if "$ref" in node:
        name = node.pop("$ref").rsplit("/", 1)[-1]
        node = {**defs[name], **node}
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b != _NULL]
        if len(branches) != 1:
            raise SchemaError(f"{where}: a union of several types is not structural")
        node = {**_convert(branches[0], defs, where), **node}
        if node.get("default", ...) is None:
            del node["default"]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "additionalProperties" and value is True and node.get(
                "x-kubernetes-preserve-unknown-fields"):
            continue  # a free-form object: said by preserve-unknown-fields alone
        if key == "properties":
            out[key] = {p: _convert(s, defs, f"{where}.{p}") for p, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value, defs, f"{where}[]")
        elif key in ("exclusiveMinimum", "exclusiveMaximum", "oneOf", "allOf", "const"):
            raise SchemaError(f"{where}: `{key}` has no structural equivalent; use ge/le/enum")
        else:
            out[key] = value
    if "type" not in out:
        raise SchemaError(f"{where}: every node of a structural schema needs a type")
    return ordered(out)


_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "x-kubernetes-validations",
)


def ordered(node: dict[str, Any]) -> dict[str, Any]:
    """A stable, readable key order (the committed YAML is diffed in CI)."""
    rank = {k: i for i, k in enumerate(_ORDER)}
    out = dict(sorted(node.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    if "x-kubernetes-validations" in out:
        out["x-kubernetes-validations"] = [_rule_order(r) for r in out["x-kubernetes-validations"]]
    return out


def _rule_order(rule: dict[str, str]) -> dict[str, str]:
    keys = ("rule", "message", "reason", "fieldPath")
    return {k: rule[k] for k in keys if k in rule}


def unbounded(schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths of strings, lists and maps without a size bound (CEL cost needs them bounded)."""
    found: list[str] = []
    kind = schema.get("type")
    bounded_string = "maxLength" in schema or "enum" in schema or schema.get("format") == "date-time"
    if kind == "string" and not bounded_string:
        found.append(path or ".")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(path or ".")
        found += unbounded(schema["items"], f"{path}[]")
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                found.append(path or ".")
            found += unbounded(extra, f"{path}{{}}")
        for name, sub in schema.get("properties", {}).items():
            found += unbounded(sub, f"{path}.{name}")
    return found


def rules(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, str]]]:
    """Every CEL rule in a schema with where it sits."""
    found = [(path or ".", r) for r in schema.get("x-kubernetes-validations", [])]
    for name, sub in schema.get("properties", {}).items():
        found += rules(sub, f"{path}.{name}")
    for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        sub = schema.get(key)
        if isinstance(sub, dict):
            found += rules(sub, f"{path}{suffix}")
    return found
