"""Every image the chart deploys is built by skaffold from the one root Dockerfile, with a
workspace package that exists and a module that runs: a renamed package or module, or a chart
image without an artifact, fails here rather than in someone's cluster."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def workspace_packages() -> set[str]:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    names = set()
    for member in root["tool"]["uv"]["workspace"]["members"]:
        for d in REPO.glob(member):
            if (d / "pyproject.toml").exists():
                names.add(tomllib.loads((d / "pyproject.toml").read_text())["project"]["name"])
    return names


def artifacts() -> dict[str, dict[str, str]]:
    config = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    out = {}
    for a in config["build"]["artifacts"]:
        assert (REPO / a["context"] / a["docker"]["dockerfile"]).is_file(), a
        out[a["image"]] = a["docker"]["buildArgs"]
    return out


def chart_images() -> set[str]:
    pattern = re.compile(r'lulea\.image" \(dict "root" \. "name" "([a-z-]+)"')
    templates = (REPO / "charts/lulea/templates").rglob("*.yaml")
    return {m for f in templates for m in pattern.findall(f.read_text())}


def test_every_chart_image_has_an_artifact_with_a_real_package_and_module() -> None:
    built, packages = artifacts(), workspace_packages()
    assert chart_images() <= set(built), chart_images() - set(built)
    for image, args in built.items():
        assert args["PACKAGE"] in packages, (image, args["PACKAGE"])
        assert importlib.util.find_spec(args["MODULE"]) is not None, (image, args["MODULE"])
        assert importlib.util.find_spec(args["MODULE"] + ".__main__") is not None, (image, args["MODULE"])
        assert all(p.isdigit() for p in str(args["PORTS"]).split()), (image, args["PORTS"])


def test_no_component_keeps_a_dockerfile_of_its_own() -> None:
    """One recipe: a copy per component drifts (a base image bumped in one, not the others)."""
    assert sorted(str(p.relative_to(REPO)) for p in REPO.glob("*/*/Dockerfile")) == []
