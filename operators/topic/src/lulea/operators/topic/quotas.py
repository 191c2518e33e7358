"""Kafka client quotas per member, from the Project's `quotas.kafkaProduceBytesPerSecond` and
`quotas.kafkaConsumeBytesPerSecond`: each member's principal (user entity `<project>__<user>`)
gets `producer_byte_rate` / `consumer_byte_rate`. Quotas follow membership as ACLs do: a
member removed, or a project deleted, loses the quota entity; a field removed removes it.

The client: confluent-kafka's Python AdminClient (2.16) has no `alter_client_quotas` and
librdkafka has no client-quota admin API; kafka-python has the protocol messages but no admin
method. So this runs Kafka's own `kafka-configs` (`kafka.admin.ConfigCommand`, the Java admin
client that ships with the broker) with the operator's own certificate: one process to
describe every user quota, and one per user whose quota must change. Quotas change only
when a Project does, so a pass that finds nothing to change starts no process at all: the
broker's quotas are described at start and every `describe_every` seconds (drift), and
between those the last known state is compared with the Projects. The Projects are the
operator's one Projects informer's view (`projects.Projects`), never a list per pass; a
change to a Project's members or quotas seen by its watch wakes a pass (`poke`).

Lulea's pattern: user entities named `<project>__<user>`. Quotas on other entities (platform
principals, client ids, defaults) are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulea.core.kafka import KafkaClient
from lulea.operators.topic.projects import ProjectView

log = logging.getLogger("lulea.operators.topic.quotas")
PRODUCE, CONSUME = "producer_byte_rate", "consumer_byte_rate"
KEYS = (PRODUCE, CONSUME)
MEMBER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?__[a-z0-9]([-a-z0-9._@]*[a-z0-9])?$")
# kafka-configs' describe line, e.g.:
#   Quota configs for user-principal 'p1__alice' are consumer_byte_rate=1024.0, producer_byte_rate=2048.0
DESCRIBED = re.compile(r"^Quota configs for user-principal '([^']+)' are (.*)$")
Quotas = dict[str, dict[str, float]]


def desired_quotas(projects: Iterable[Mapping[str, Any]]) -> Quotas:
    """user entity -> its quotas, for every member of every Project (not being deleted)."""
    out: Quotas = {}
    for p in projects:
        if p["metadata"].get("deletionTimestamp"):
            continue
        spec = p.get("spec") or {}
        q = spec.get("quotas") or {}
        rates = {k: float(v) for k, v in ((PRODUCE, q.get("kafkaProduceBytesPerSecond")),
                                          (CONSUME, q.get("kafkaConsumeBytesPerSecond")))
                 if v is not None}
        if not rates:
            continue
        for m in spec.get("members") or []:
            out[f"{p['metadata']['name']}__{m['user']}"] = dict(rates)
    return out


def ours(entity: str) -> bool:
    return bool(MEMBER.match(entity))


def changes(desired: Quotas, current: Quotas) -> dict[str, tuple[dict[str, float], list[str]]]:
    """user -> (quotas to set, quota keys to delete), only for Lulea's entities that differ."""
    out: dict[str, tuple[dict[str, float], list[str]]] = {}
    for user in sorted(set(desired) | {u for u in current if ours(u)}):
        want, have = desired.get(user, {}), {k: v for k, v in current.get(user, {}).items() if k in KEYS}
        to_set = {k: v for k, v in want.items() if have.get(k) != v}
        to_delete = sorted(k for k in have if k not in want)
        if to_set or to_delete:
            out[user] = (to_set, to_delete)
    return out


def parse_described(output: str) -> Quotas:
    out: Quotas = {}
    for line in output.splitlines():
        match = DESCRIBED.match(line.strip())
        if not match:
            continue
        values: dict[str, float] = {}
        for part in match.group(2).split(","):
            key, sep, value = part.strip().partition("=")
            if sep and key in KEYS:
                values[key] = float(value)
        out[match.group(1)] = values
    return out


class QuotaToolFailed(Exception):
    pass


@dataclass
class KafkaConfigs:
    """Kafka's `kafka-configs` tool as this operator (its certificate, the platform listener)."""

    kafka: KafkaClient
    libs: Path  # the Kafka distribution's libs directory (kafka_2.13-*.jar, kafka-clients-*.jar)
    java: str = "java"
    timeout: float = 120.0

    def _properties(self, directory: Path) -> Path:
        """The client config: the PEM keystore (key + chain) is written afresh each time, since
        the certificate is renewed under the operator."""
        keystore = directory / "keystore.pem"
        assert self.kafka.key_file and self.kafka.cert_file and self.kafka.trust_file
        keystore.write_bytes(self.kafka.key_file.read_bytes() + self.kafka.cert_file.read_bytes())
        keystore.chmod(0o600)
        props = directory / "client.properties"
        props.write_text("\n".join([
            "security.protocol=SSL", "ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}",
            "ssl.truststore.type=PEM", f"ssl.truststore.location={self.kafka.trust_file}",
            "ssl.endpoint.identification.algorithm=https", ""]))
        return props

    async def run(self, *args: str) -> str:
        with tempfile.TemporaryDirectory(prefix="lulea-quotas-") as tmp:
            props = self._properties(Path(tmp))
            argv = [self.java, "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Djava.awt.headless=true", "-cp", f"{self.libs}/*", "kafka.admin.ConfigCommand",
                    "--bootstrap-server", self.kafka.bootstrap, "--command-config", str(props), *args]
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "KAFKA_LOG4J_OPTS": ""})
            try:
                out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
                raise QuotaToolFailed(
                    f"kafka-configs {args[0]} did not finish in {self.timeout:.0f}s") from None
            if proc.returncode != 0:
                text = (err or out).decode(errors="replace").strip().splitlines()
                raise QuotaToolFailed(f"kafka-configs {' '.join(args[:3])} failed: {' | '.join(text[-3:])}")
            return out.decode(errors="replace")

    async def describe(self) -> Quotas:
        return parse_described(await self.run("--describe", "--entity-type", "users"))

    async def alter(self, user: str, to_set: Mapping[str, float], to_delete: Iterable[str]) -> None:
        args = ["--alter", "--entity-type", "users", "--entity-name", user]
        if to_set:
            args += ["--add-config", ",".join(f"{k}={v:.0f}" for k, v in sorted(to_set.items()))]
        deleting = sorted(to_delete)
        if deleting:
            args += ["--delete-config", ",".join(deleting)]
        await self.run(*args)


class QuotaSync:
    """Looks at the Projects (the informer's view) every `interval` seconds and when poked (a
    Project's members or quotas changed, seen by the informer; a membership event); asks the
    broker for its quotas every `describe_every` seconds."""

    def __init__(self, projects: ProjectView, tool: KafkaConfigs, interval: float,
                 describe_every: float = 300.0) -> None:
        self.projects, self.tool, self.interval = projects, tool, interval
        self.describe_every = describe_every
        projects.subscribe(self.poke)  # members or quotas changed, seen by the watch: a pass
        self.known: Quotas | None = None  # the broker's quotas as last described or changed
        self.described_at = 0.0
        self._wake = asyncio.Event()
        self.passes = 0

    def poke(self, _project: str = "") -> None:
        self._wake.set()

    async def run(self) -> None:
        await self.projects.synced.wait()
        self._wake.clear()  # the first list's changes: the first pass serves them
        while True:
            try:
                changed = await self.sync_once()
                if changed:
                    log.info("client quotas changed for %d members", changed)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Kafka, the tool or the API server: the next pass retries
                log.warning("client quota pass failed: %s", err)
                self.known = None  # describe again next time
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def sync_once(self) -> int:
        # never before the informer's first list: an empty view would remove every member's quota
        await self.projects.synced.wait()
        desired = desired_quotas(self.projects.items())
        if self.known is None or time.monotonic() - self.described_at > self.describe_every:
            self.known = await self.tool.describe()
            self.described_at = time.monotonic()
        todo = changes(desired, self.known)
        for user, (to_set, to_delete) in todo.items():
            log.info("client quotas of %s: set %s, removed %s", user, to_set, to_delete)
            await self.tool.alter(user, to_set, to_delete)
            entry = {k: v for k, v in self.known.get(user, {}).items() if k not in to_delete} | to_set
            if entry:
                self.known[user] = entry
            else:
                self.known.pop(user, None)
        self.passes += 1
        return len(todo)
