"""The CRL a service trusts: fetched from the CA every second or so, verified, kept current.

A service that accepts client certificates refuses a revoked one within about one refresh
period of its revocation (`revoked(serial)`). The CRL must be signed by the issuer of the
certificates it covers (the platform intermediate) and be current (nextUpdate not passed);
a fetch that fails keeps the last good CRL until its nextUpdate. With no current CRL at all
the service fails closed: `revoked()` answers True for every serial (`CrlUnavailable`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from cryptography import x509

log = logging.getLogger("lulea.auth.crl")


class CrlUnavailable(Exception):
    """No current, verified CRL: every client certificate is refused until one arrives."""


@dataclass
class CrlWatcher:
    url: str
    issuer: x509.Certificate  # the CA that signs the CRL and the certificates it covers
    refresh_seconds: float = 1.0
    verify: ssl.SSLContext | bool = True
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    crl: x509.CertificateRevocationList | None = None
    _serials: frozenset[int] = field(default_factory=frozenset)
    _etag: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def accept(self, der: bytes) -> bool:
        """Take a fetched CRL if it verifies and is newer; True if it replaced the current one."""
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            log.warning("the CRL at %s does not parse", self.url)
            return False
        if crl.issuer != self.issuer.subject or not crl.is_signature_valid(self.issuer.public_key()):  # type: ignore[arg-type]
            log.warning("the CRL at %s is not signed by %s: ignored", self.url,
                        self.issuer.subject.rfc4514_string())
            return False
        if self.crl is not None and _number(crl) <= _number(self.crl):
            return False
        self.crl = crl
        self._serials = frozenset(entry.serial_number for entry in crl)
        self.changed.set()
        self.changed = asyncio.Event()
        return True

    def current(self) -> bool:
        next_update = self.crl.next_update_utc if self.crl is not None else None
        return next_update is not None and self.clock() < next_update

    def revoked(self, serial: int) -> bool:
        """Is this serial refused? With no current CRL, everything is (fail closed)."""
        if not self.current():
            return True
        return serial in self._serials

    def check(self, certificate: x509.Certificate) -> None:
        if not self.current():
            raise CrlUnavailable("no current CRL from the CA: client certificates are refused")
        if certificate.serial_number in self._serials:
            raise PermissionError(f"certificate {certificate.serial_number:x} is revoked")

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        headers = {"If-None-Match": self._etag} if self._etag else {}
        answer = await client.get(self.url, headers=headers)
        if answer.status_code == 304:
            return False
        answer.raise_for_status()
        taken = self.accept(answer.content)
        if taken:  # a CRL refused (wrong signer, older) must not be skipped by its ETag next time
            self._etag = answer.headers.get("ETag")
        return taken

    async def run(self) -> None:
        """Refresh forever; a failed fetch keeps the last good CRL."""
        async with httpx.AsyncClient(verify=self.verify, timeout=5.0) as client:
            while True:
                try:
                    await self.refresh(client)
                except (httpx.HTTPError, OSError) as err:
                    log.info("fetching the CRL from %s: %s", self.url, err)
                await asyncio.sleep(self.refresh_seconds)


def _number(crl: x509.CertificateRevocationList) -> int:
    try:
        return int(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        return 0
