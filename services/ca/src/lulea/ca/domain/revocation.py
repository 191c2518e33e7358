"""The CRL: signed by the intermediate, CRL number strictly increasing, always fresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from lulea.ca.domain.hierarchy import Authority
from lulea.ca.store.base import CertificateRecord, Reason

CRL_VALIDITY = dt.timedelta(hours=24)
CRL_REFRESH = dt.timedelta(hours=8)  # regenerate well before nextUpdate


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: Reason


def build_crl(
    issuer: Authority,
    revoked: list[RevokedEntry],
    number: int,
    *,
    now: dt.datetime | None = None,
    validity: dt.timedelta = CRL_VALIDITY,
) -> x509.CertificateRevocationList:
    if number < 1:
        raise ValueError("CRL number starts at 1")
    now = now or dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now)
        .next_update(now + validity)
        .add_extension(x509.CRLNumber(number), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    )
    for entry in sorted(revoked, key=lambda e: e.serial):
        revoked_cert = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(min(entry.revoked_at, now))
            .add_extension(x509.CRLReason(entry.reason.flag), False)
            .build()
        )
        builder = builder.add_revoked_certificate(revoked_cert)
    return builder.sign(issuer.key, hashes.SHA256())


def crl_needs_refresh(next_update: dt.datetime, now: dt.datetime, validity: dt.timedelta) -> bool:
    """True once less than two thirds of the CRL's validity is left."""
    return next_update - now < validity * 2 / 3


def revoked_entry(record: CertificateRecord) -> RevokedEntry:
    """The CRL entry of a revoked record."""
    assert record.revoked_at is not None and record.reason is not None
    return RevokedEntry(int(record.serial, 16), record.revoked_at, record.reason)
