"""Write the CRD YAML files from the models, or check the committed ones match (CI drift check)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # until types-PyYAML is a dev dep

from lulea.core.crds.admission import POLICIES
from lulea.core.crds.definition import KINDS, Kind

HEADER = (
    "# Generated from the models in libs/core/src/lulea/core/crds by\n"
    "#   uv run --no-sync python -m lulea.core.crds generate\n"
    "# Do not edit: change the models and regenerate (CI runs `generate --check`).\n"
)
#: Where the CRDs live, relative to the repository root: the plain manifests and the chart's copy.
TARGETS = (Path("crds"), Path("charts/lulea/crds"))
#: Admission policies (not CRDs: `kubectl wait --for=condition=Established` does not apply).
ADMISSION = Path("crds/admission")
CHART_POLICIES = Path("charts/lulea/templates/admission-policies.yaml")


class _Dumper(yaml.SafeDumper):  # type: ignore[misc, unused-ignore]
    """Block style, multi-line strings kept readable, no anchors (a schema node shared by two
    fields is written out twice: readers and `kubectl explain` expect plain YAML)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: _Dumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(kind: Kind) -> str:
    return HEADER + _dump(kind.manifest())


def file_name(kind: Kind) -> str:
    return f"{kind.name}.yaml"


def _dump(doc: dict[str, Any]) -> str:
    text = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        width=100,
        allow_unicode=True,
        default_flow_style=False,
    )
    return str(text)


def rendered() -> dict[Path, str]:
    """Every file the generator owns, relative to the repository root, and its content."""
    files = {target / file_name(k): render(k) for target in TARGETS for k in KINDS}
    for name, docs in POLICIES.items():
        files[ADMISSION / name] = HEADER + "---\n".join(_dump(d) for d in docs)
    # the chart carries the same policies, in one template
    files[CHART_POLICIES] = "---\n".join(files[ADMISSION / name] for name in sorted(POLICIES))
    return files


def write(root: Path) -> list[Path]:
    changed = []
    for rel, text in rendered().items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(rel)
    return changed


def drift(root: Path) -> list[str]:
    """Unified diffs between the committed files and what the models generate; empty = in sync."""
    diffs = []
    for rel, text in rendered().items():
        path = root / rel
        old = path.read_text() if path.exists() else ""
        if old != text:
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=f"{rel} (committed)",
                        tofile=f"{rel} (generated)",
                    )
                )
            )
    owned = set(rendered())
    for target in (*TARGETS, ADMISSION):
        for stray in sorted((root / target).glob("*.lulea.io.yaml")):
            if stray.relative_to(root) not in owned:
                diffs.append(f"{target / stray.name}: no model generates this file; delete it\n")
    return diffs
