"""Job logs through the logs gateway, which serves VictoriaLogs' own query API one project at a
time: `<gateway>/projects/<project>/select/logsql/query` (and `/tail`), JSON lines out, the
caller authenticated by the member certificate (mTLS). A project that is not the caller's
answers 404, as one that does not exist.

`search("error", job="train")` is the LogsQL query `job:="train" error | sort by (_time)`:
LogsQL words are ANDed; `query` may be any LogsQL filter."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from lulea.sdk.config import Config
from lulea.sdk.errors import LuleaError, NotAMember, NotConfigured
from lulea.sdk.project import need

QUERY_PATH = "/projects/{project}/select/logsql/{endpoint}"


@dataclass(frozen=True)
class LogLine:
    time: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def job(self) -> str | None:
        return self.fields.get("job")

    @property
    def pod(self) -> str | None:
        return self.fields.get("pod")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogLine:
        fields = {k: str(v) for k, v in data.items() if k not in ("_time", "_msg")}
        return cls(time=str(data.get("_time", "")), message=str(data.get("_msg", "")), fields=fields)


def logsql(query: str = "", job: str | None = None, *, sort: bool = True) -> str:
    """The LogsQL query for `query` (words or LogsQL), limited to one job when given, oldest
    line first (unless the query has its own pipes)."""
    filters = [f"job:={json.dumps(job)}"] if job else []
    if query.strip() and query.strip() != "*":
        filters.append(query.strip())
    text = " ".join(filters) or "*"
    return f"{text} | sort by (_time)" if sort and "|" not in text else text


class Logs:
    def __init__(self, config: Config, *, transport: httpx.BaseTransport | None = None) -> None:
        self.project = config.project
        self._config = config
        self._transport = transport

    def _client(self, timeout: float | None) -> httpx.Client:
        base = need(self._config.endpoints.logs_url, "logs", "LULEA_LOGS_URL")
        cert = self._config.certificate
        if self._transport is not None:
            return httpx.Client(base_url=base, transport=self._transport, timeout=timeout)
        if cert is None:
            raise NotConfigured("no member certificate: inside a job the platform mounts it at "
                                "LULEA_CERT_DIR; on a laptop run `lulea login`")
        context = ssl.create_default_context(cafile=str(cert.ca))
        context.load_cert_chain(str(cert.cert), str(cert.key))
        return httpx.Client(base_url=base, verify=context, timeout=timeout)

    def _path(self, endpoint: str) -> str:
        return QUERY_PATH.format(project=self.project, endpoint=endpoint)

    def search(self, query: str = "", job: str | None = None, *, limit: int | None = None,
               start: str | None = None, end: str | None = None) -> Iterator[LogLine]:
        """Lines matching `query` (oldest first), optionally of one job, from `start` to `end`
        (VictoriaLogs' time syntax: RFC 3339, or `5m`, `1h` ago)."""
        params: dict[str, str] = {"query": logsql(query, job)}
        if limit is not None:
            params["limit"] = str(limit)
        if start:
            params["start"] = start
        if end:
            params["end"] = end
        yield from self._stream("query", params, timeout=60.0)

    def tail(self, query: str = "", job: str | None = None) -> Iterator[LogLine]:
        """New lines as they arrive (VictoriaLogs' live tail), until the caller stops."""
        yield from self._stream("tail", {"query": logsql(query, job, sort=False)}, timeout=None)

    def _stream(self, endpoint: str, params: dict[str, str], timeout: float | None) -> Iterator[LogLine]:
        with self._client(timeout) as client, client.stream("GET", self._path(endpoint),
                                                              params=params) as answer:
            if answer.status_code != 200:
                answer.read()
                raise self._error(answer)
            for line in answer.iter_lines():
                if line.strip():
                    yield LogLine.from_json(json.loads(line))

    def _error(self, answer: httpx.Response) -> LuleaError:
        if answer.status_code == 404:
            return NotAMember(self.project, self._config.user)
        if answer.status_code == 401:
            return LuleaError("the logs gateway did not accept your certificate; run `lulea login` again")
        if answer.status_code == 400:
            return LuleaError(f"the log query was refused: {answer.text.strip()}")
        return LuleaError(f"the logs gateway answered {answer.status_code}: {answer.text.strip()[:200]}")
