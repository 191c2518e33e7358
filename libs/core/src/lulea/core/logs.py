"""JSON log lines for every Lulea service, carrying the current trace and span ids so a log
line can be found from a trace and back. Private keys and tokens are never logged: callers log
identifiers (serials, subjects), never secrets."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = f"{context.trace_id:032x}"
            entry["span_id"] = f"{context.span_id:016x}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_json_logging(level: int | str = logging.INFO) -> None:
    """Route every logger (uvicorn's too, with log_config=None) through one JSON handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # one line per HTTP request the component makes (the CRL every second) is noise, not a log
    logging.getLogger("httpx").setLevel(logging.WARNING)
