"""The current CRL: rebuilt after every revocation and before its nextUpdate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lulea.ca.domain.hierarchy import Authority
from lulea.ca.domain.records import RecordStore
from lulea.ca.domain.revocation import CRL_VALIDITY, build_crl, crl_needs_refresh
from lulea.ca.metrics import CRL_NEXT_UPDATE, CRL_NUMBER


@dataclass
class CurrentCrl:
    issuer: Authority
    records: RecordStore
    validity: dt.timedelta = CRL_VALIDITY
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    crl: x509.CertificateRevocationList | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> x509.CertificateRevocationList:
        """Sign a new CRL with the next CRL number from the shared counter."""
        async with self._lock:
            now = self.clock()
            revoked = [r.revoked_entry() for r in await self.records.revoked() if r.not_after > now]
            number = await self.records.next_crl_number()
            self.crl = build_crl(self.issuer, revoked, number, now=now, validity=self.validity)
            CRL_NUMBER.set(number)
            CRL_NEXT_UPDATE.set(self.crl.next_update_utc.timestamp())
            return self.crl

    async def current(self) -> x509.CertificateRevocationList:
        crl = self.crl
        if crl is None or crl_needs_refresh(crl.next_update_utc, self.clock(), self.validity):
            crl = await self.refresh()
        return crl

    async def der(self) -> bytes:
        return (await self.current()).public_bytes(serialization.Encoding.DER)
