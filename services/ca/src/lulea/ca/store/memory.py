"""In-memory record, Secret and event stores: the unit tests' stand-ins for MongoDB, Kubernetes
and Kafka (the real ones are exercised by e2e)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography import x509

from lulea.ca.store.base import CertificateRecord, Status


class MemoryRecords:
    def __init__(self) -> None:
        self.by_serial: dict[str, CertificateRecord] = {}
        self.crl_number = 0

    async def insert(self, record: CertificateRecord) -> None:
        assert record.serial not in self.by_serial
        self.by_serial[record.serial] = record

    async def get(self, serial: str) -> CertificateRecord | None:
        return self.by_serial.get(serial)

    async def members(
        self, project: str, user: str | None = None, status: Status | None = None
    ) -> list[CertificateRecord]:
        return [
            r
            for r in self.by_serial.values()
            if r.project == project
            and (user is None or r.user == user)
            and (status is None or r.status == status)
        ]

    async def set_status(
        self, record: CertificateRecord, status: Status, expect: Status = Status.ACTIVE
    ) -> bool:
        stored = self.by_serial[record.serial]
        if stored.status != expect:
            return False
        self.by_serial[record.serial] = dataclasses.replace(record, status=status)
        return True

    async def due_for_renewal(self, now: dt.datetime, limit: int) -> list[CertificateRecord]:
        due = [
            r
            for r in self.by_serial.values()
            if r.status == Status.ACTIVE and r.profile == "member" and r.renew_at <= now
        ]
        return due[:limit]

    async def revoked(self) -> list[CertificateRecord]:
        return [r for r in self.by_serial.values() if r.status == Status.REVOKED]

    async def mark_announced(self, record: CertificateRecord, status: Status) -> None:
        stored = self.by_serial[record.serial]
        self.by_serial[record.serial] = dataclasses.replace(stored, announced=status)

    async def active_projects(self) -> set[str]:
        return {r.project for r in self.by_serial.values() if r.project and r.status == Status.ACTIVE}

    async def next_crl_number(self) -> int:
        self.crl_number += 1
        return self.crl_number


class MemorySecrets:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes = 0
        self.fail_next_put = False

    async def read_serial(self, namespace: str, name: str) -> str | None:
        secret = self.secrets.get((namespace, name))
        return None if secret is None else secret["annotations"].get("lulea.io/serial")

    async def put(
        self,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> None:
        if self.fail_next_put:
            self.fail_next_put = False
            raise ConnectionError("API server went away")
        self.writes += 1
        self.secrets[(namespace, name)] = {"data": data, "labels": labels, "annotations": annotations}

    async def delete(self, namespace: str, name: str) -> None:
        self.secrets.pop((namespace, name), None)

    def cert(self, namespace: str, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.secrets[(namespace, name)]["data"]["tls.crt"])


class MemoryEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_next = False

    async def publish(
        self,
        event_type: Any,
        *,
        subject: str,
        key: str,
        data: dict[str, Any],
        id_parts: Iterable[str],
    ) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the broker went away")
        self.published.append((str(event_type), "/".join(id_parts), data))

    def ids(self, event_type: str) -> set[str]:
        return {i for t, i, _ in self.published if t == event_type}
