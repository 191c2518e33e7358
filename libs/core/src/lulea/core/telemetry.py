"""Tracing for every Lulea process: a real TracerProvider, so spans have ids that travel in
`traceparent` across Kafka and HTTP even when no exporter is configured.

Exporting is opt-in: LULEA_TRACE_CONSOLE=1 prints spans as JSON lines on stderr; an OTLP
exporter can be added by the deployment (the SDK reads the standard OTEL_* variables).
"""

from __future__ import annotations

import os
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


def setup_tracing(service_name: str) -> TracerProvider:
    """Install the global tracer provider once; later calls return the one installed."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("LULEA_TRACE_CONSOLE") == "1":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(
            out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n")))
    trace.set_tracer_provider(provider)
    return provider
