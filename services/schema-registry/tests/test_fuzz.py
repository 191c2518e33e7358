"""Schemathesis over every documented operation: no input makes the registry answer 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from lulea.schema_registry.main import create_app
from lulea.schema_registry.settings import Settings
from lulea.schema_registry.store.memory import MemoryStore

app = create_app(Settings(every_caller_is_platform=True), store=MemoryStore())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
