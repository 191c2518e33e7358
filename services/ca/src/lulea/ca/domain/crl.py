"""The current CRL: rebuilt after every revocation and before its nextUpdate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lulea.ca.domain.hierarchy import Authority
from lulea.ca.domain.revocation import CRL_VALIDITY, build_crl, crl_needs_refresh, revoked_entry
from lulea.ca.metrics import CRL_NEXT_UPDATE, CRL_NUMBER
from lulea.ca.store.base import RecordStore


def next_update(crl: x509.CertificateRevocationList) -> dt.datetime:
    """Every CRL we build carries a nextUpdate (RFC 5280 makes it optional)."""
    when = crl.next_update_utc
    if when is None:
        raise ValueError("CRL without nextUpdate")
    return when


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
            revoked = [revoked_entry(r) for r in await self.records.revoked() if r.not_after > now]
            number = await self.records.next_crl_number()
            self.crl = build_crl(self.issuer, revoked, number, now=now, validity=self.validity)
            CRL_NUMBER.set(number)
            CRL_NEXT_UPDATE.set(next_update(self.crl).timestamp())
            return self.crl

    async def current(self) -> x509.CertificateRevocationList:
        crl = self.crl
        if crl is None or crl_needs_refresh(next_update(crl), self.clock(), self.validity):
            crl = await self.refresh()
        return crl

    async def der(self) -> bytes:
        return (await self.current()).public_bytes(serialization.Encoding.DER)
