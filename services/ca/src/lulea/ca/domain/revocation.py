"""The CRL: signed by the intermediate, CRL number strictly increasing, always fresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from lulea.ca.domain.hierarchy import Authority

CRL_VALIDITY = dt.timedelta(hours=24)
CRL_REFRESH = dt.timedelta(hours=8)  # regenerate well before nextUpdate


class Reason(StrEnum):
    """Why a certificate was revoked (RFC 5280 reason codes, never `unspecified`)."""

    MEMBER_REMOVED = "memberRemoved"
    ROLE_CHANGED = "roleChanged"
    PROJECT_DELETED = "projectDeleted"
    KEY_COMPROMISE = "keyCompromise"

    @property
    def flag(self) -> x509.ReasonFlags:
        return {
            Reason.MEMBER_REMOVED: x509.ReasonFlags.affiliation_changed,
            Reason.ROLE_CHANGED: x509.ReasonFlags.superseded,
            Reason.PROJECT_DELETED: x509.ReasonFlags.cessation_of_operation,
            Reason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
        }[self]


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
