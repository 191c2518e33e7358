"""The committed CRDs are what the models generate, and they are structural and bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lulea.core.crds.__main__ import main
from lulea.core.crds.admission import SHARES_POLICY
from lulea.core.crds.definition import KINDS, Kind
from lulea.core.crds.generate import ADMISSION, TARGETS, drift, rendered
from lulea.core.crds.schema import SchemaError, rules, structural_schema, unbounded

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("$ref", "anyOf", "oneOf", "allOf", "nullable", "x-kubernetes-preserve-unknown-fields")


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path or ".", schema)]
    for name, sub in schema.get("properties", {}).items():
        found += _nodes(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _nodes(schema[key], f"{path}[{key}]")
    return found


def _schema(kind: Kind) -> dict[str, Any]:
    return kind.manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_committed_files_match_the_models() -> None:
    assert drift(ROOT) == [], "run: uv run --no-sync python -m lulea.core.crds generate"


def test_chart_carries_the_same_crds() -> None:
    plain, chart = TARGETS
    files = rendered()
    for kind in KINDS:
        name = f"{kind.name}.yaml"
        assert files[plain / name] == files[chart / name]


def test_names_and_scope_are_the_shared_api() -> None:
    got = {k.kind: (k.plural, k.short_names, k.scope) for k in KINDS}
    assert got == {
        "Project": ("projects", ("proj",), "Cluster"),
        "Dataset": ("datasets", ("ds",), "Namespaced"),
        "Topic": ("topics", ("kt",), "Namespaced"),
        "GpuJob": ("gpujobs", ("gj",), "Namespaced"),
    }
    for kind in KINDS:
        names = kind.manifest()["spec"]["names"]
        assert names["categories"] == ["lulea"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind: Kind) -> None:
    for path, node in _nodes(_schema(kind)):
        assert "type" in node, f"{kind.kind}{path} has no type"
        for key in FORBIDDEN:
            assert key not in node, f"{kind.kind}{path} has {key}"
        assert node.get("additionalProperties", {}) is not False
        assert not ("properties" in node and "additionalProperties" in node)
        for name in node.get("required", []):
            assert name in node["properties"], f"{kind.kind}{path}: required {name} is undeclared"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_string_list_and_map_is_bounded(kind: Kind) -> None:
    spec_and_status = _schema(kind)["properties"]
    assert unbounded(spec_and_status["spec"]) == []
    assert unbounded(spec_and_status["status"]) == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_cel_rule_has_a_message(kind: Kind) -> None:
    found = rules(_schema(kind))
    assert found, f"{kind.kind} has no CEL rules"
    for where, rule in found:
        assert rule["rule"].strip(), where
        assert len(rule["message"]) >= 20, f"{kind.kind}{where}: message too terse to act on"
        assert set(rule) <= {"rule", "message", "reason", "fieldPath"}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_list_map_keys_are_required(kind: Kind) -> None:
    for path, node in _nodes(_schema(kind)):
        if node.get("x-kubernetes-list-type") == "map":
            item = node["items"]
            for key in node["x-kubernetes-list-map-keys"]:
                assert key in item.get("required", []) or "default" in item["properties"][key], path


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_defaults_satisfy_their_own_bounds(kind: Kind) -> None:
    for path, node in _nodes(_schema(kind)):
        if "default" not in node:
            continue
        value = node["default"]
        assert value in node.get("enum", [value]), path
        assert node.get("minimum", value) <= value if isinstance(value, int) else True, path
        assert value <= node.get("maximum", value) if isinstance(value, int) else True, path


def test_status_has_observed_generation_and_conditions() -> None:
    for kind in KINDS:
        status = _schema(kind)["properties"]["status"]["properties"]
        condition = status["conditions"]["items"]
        assert set(condition["properties"]) >= {"type", "status", "reason", "message", "lastTransitionTime"}
        assert status["observedGeneration"]["type"] == "integer"
        manifest = kind.manifest()["spec"]["versions"][0]
        assert manifest["subresources"] == {"status": {}}
        columns = [c["name"] for c in manifest["additionalPrinterColumns"]]
        assert columns[-3:] == ["Ready", "Reason", "Age"]


def test_generated_yaml_parses_back_to_the_manifest() -> None:
    for kind in KINDS:
        path = TARGETS[0] / f"{kind.name}.yaml"
        assert yaml.safe_load(rendered()[path]) == kind.manifest()


def test_a_union_model_is_refused() -> None:
    from pydantic import BaseModel

    class Loose(BaseModel):
        value: int | str

    with pytest.raises(SchemaError, match="union"):
        structural_schema(Loose)


def test_check_fails_on_drift_and_passes_after_generate(tmp_path: Path) -> None:
    assert main(["generate", "--check", "--root", str(tmp_path)]) == 1
    assert main(["generate", "--root", str(tmp_path)]) == 0
    assert main(["generate", "--check", "--root", str(tmp_path)]) == 0
    target = tmp_path / "crds" / "topics.lulea.io.yaml"
    target.write_text(target.read_text().replace("maximum: 1024", "maximum: 2048"))
    assert main(["generate", "--check", "--root", str(tmp_path)]) == 1
    (tmp_path / "crds" / "topics.lulea.io.yaml").unlink()
    (tmp_path / "crds" / "stale.lulea.io.yaml").write_text("{}")
    assert len(drift(tmp_path)) == 2


def test_the_shares_policy_is_generated_and_bound() -> None:
    text = rendered()[ADMISSION / f"{SHARES_POLICY}.yaml"]
    policy, binding = yaml.safe_load_all(text)
    assert policy["kind"] == "ValidatingAdmissionPolicy"
    assert set(policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"]) == {
        "datasets",
        "topics",
    }
    (validation,) = policy["spec"]["validations"]
    assert "object.metadata.namespace" in validation["expression"]
    assert "messageExpression" in validation
    assert binding["spec"] == {"policyName": SHARES_POLICY, "validationActions": ["Deny"]}
