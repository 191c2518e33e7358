"""The Topic's value schema in Lulea's schema registry (the Confluent REST API), as a
platform caller: a service-account token bound to the audience `lulea`, over TLS verified
against the platform root. Subject `<project>.<topic>-value`."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

CONTENT = "application/vnd.schemaregistry.v1+json"


class SchemaIncompatible(Exception):
    """The registry refused the schema as incompatible: its verbose message says why."""


class SchemaInvalid(Exception):
    """The registry refused the schema as not a valid Avro schema."""


class RegistryUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Registered:
    schema_id: int
    version: int


def subject(kafka_topic: str) -> str:
    return f"{kafka_topic}-value"


class SchemaRegistry:
    def __init__(self, url: str, token: Callable[[], str], trust_file: str | None,
                 connections: int = 20) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=trust_file) if trust_file else True
        self.token = token
        self.http = httpx.AsyncClient(base_url=url.rstrip("/"), verify=verify, timeout=15.0,
                                      limits=httpx.Limits(max_connections=connections,
                                                          max_keepalive_connections=connections))
        # (subject, schema, compatibility) -> what the registry answered: only the operator
        # writes Lulea's subjects, so a spec edit that leaves the schema alone (a share, a
        # config) costs no registry call; a restart asks again
        self.known: dict[tuple[str, str, str], Registered] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": CONTENT}
        try:
            return await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as err:
            raise RegistryUnavailable(f"{type(err).__name__}: {err}") from err

    @staticmethod
    def _check(answer: httpx.Response, *ok: int) -> Any:
        if answer.status_code in ok:
            return answer.json() if answer.content else None
        if answer.status_code >= 500 or answer.status_code in (401, 403):
            raise RegistryUnavailable(f"the registry answered {answer.status_code}: {answer.text[:300]}")
        raise SchemaInvalid(_message(answer))

    async def register(self, kafka_topic: str, schema: str, compatibility: str) -> Registered:
        """Set the subject's compatibility, then register the schema (idempotent: the same
        schema answers its existing id and version)."""
        key = (subject(kafka_topic), schema, compatibility)
        if key in self.known:
            return self.known[key]
        s = quote(subject(kafka_topic), safe="")
        self._check(await self._call("PUT", f"/config/{s}", {"compatibility": compatibility}), 200)
        answer = await self._call("POST", f"/subjects/{s}/versions", {"schema": schema})
        if answer.status_code == 409:
            raise SchemaIncompatible(await self._why_incompatible(s, schema) or _message(answer))
        if answer.status_code == 422:
            raise SchemaInvalid(_message(answer))
        registered = self._check(answer, 200)
        if "version" not in registered:  # a registry that answers the id only (older Confluent)
            registered = self._check(await self._call("POST", f"/subjects/{s}", {"schema": schema}), 200)
        # Lulea's registry answers the version with the id: two calls per new subject, not three
        self.known[key] = Registered(int(registered["id"]), int(registered["version"]))
        return self.known[key]

    async def _why_incompatible(self, s: str, schema: str) -> str | None:
        answer = await self._call("POST", f"/compatibility/subjects/{s}/versions?verbose=true",
                                  {"schema": schema})
        if answer.status_code != 200:
            return None
        messages = answer.json().get("messages") or []
        return "; ".join(str(m) for m in messages) or None

    async def soft_delete(self, kafka_topic: str) -> bool:
        """Soft-delete the subject (its versions stay readable by id); absent is success."""
        self.known = {k: v for k, v in self.known.items() if k[0] != subject(kafka_topic)}
        s = quote(subject(kafka_topic), safe="")
        answer = await self._call("DELETE", f"/subjects/{s}")
        if answer.status_code == 404:
            return False
        self._check(answer, 200)
        return True


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
        return f"{body.get('error_code', answer.status_code)}: {body.get('message', answer.text)}"
    except ValueError:
        return f"{answer.status_code}: {answer.text[:500]}"
