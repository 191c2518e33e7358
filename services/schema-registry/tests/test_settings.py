"""Settings fail at start on bad values; the chart only sets variables that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from lulea.schema_registry.settings import Settings

CHART = Path(__file__).resolve().parents[3] / "charts/lulea/templates/schema-registry"


@pytest.mark.parametrize(("name", "value"), [
    ("LULEA_SCHEMA_REGISTRY_PORT", "0"),
    ("LULEA_SCHEMA_REGISTRY_PORT", "http"),
    ("LULEA_SCHEMA_REGISTRY_EVERY_CALLER_IS_PLATFORM", "maybe"),
    ("LULEA_SCHEMA_REGISTRY_XFCC_PROXIES", '["not-an-address"]'),
    ("LULEA_SCHEMA_REGISTRY_DEFAULT_COMPATIBILITY", "SIDEWAYS"),
    ("LULEA_SCHEMA_REGISTRY_MAX_SCHEMA_BYTES", "10"),
    ("LULEA_SCHEMA_REGISTRY_ID_BLOCK_SIZE", "0"),
    ("LULEA_SCHEMA_REGISTRY_LOG_LEVEL", "LOUD"),
])
def test_bad_setting_fails_at_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_settings_read_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LULEA_SCHEMA_REGISTRY_DEFAULT_COMPATIBILITY", "full_transitive")
    monkeypatch.setenv("LULEA_SCHEMA_REGISTRY_ADMIN_PRINCIPALS", "root, ops ")
    settings = Settings()
    assert settings.default_compatibility == "FULL_TRANSITIVE"
    assert settings.admins == {"root", "ops"}


async def test_every_caller_is_platform_is_refused_outside_a_local_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from lulea.core.platform import InsecureSetting, PlatformSettings
    from lulea.schema_registry.__main__ import serve

    monkeypatch.setenv("LULEA_ENV", "cluster")
    with pytest.raises(InsecureSetting, match="EVERY_CALLER_IS_PLATFORM"):
        await serve(Settings(every_caller_is_platform=True), PlatformSettings())


def test_chart_sets_only_known_settings() -> None:
    text = (CHART / "deployment.yaml").read_text()
    names = set(re.findall(r"LULEA_SCHEMA_REGISTRY_([A-Z_]+)", text))
    assert names, "the deployment sets no settings"
    assert {n.lower() for n in names} <= set(Settings.model_fields)
