"""The member behind a TLS client certificate: chain verified to our root, CN parsed.

Uses `cryptography` (imported here, not in the package root, so services that only need
the principal types do not pull it in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from lulea.core.auth.principal import InvalidPrincipal, MemberPrincipal, parse_member_common_name


class UntrustedCertificate(ValueError):
    """The certificate does not chain to the platform root or is not a member certificate."""


def load_pem_chain(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise UntrustedCertificate(f"not a PEM certificate bundle: {exc}") from None
    return certs


def member_from_certificate(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    now: dt.datetime | None = None,
    revoked_serials: frozenset[int] = frozenset(),
) -> MemberPrincipal:
    """Verify `leaf` (a clientAuth certificate) up to one of `roots` and return its member.

    `revoked_serials` comes from the CA's CRL; a revoked certificate is refused.
    """
    # Member certificates name their holder in the CN only: the Web PKI client profile
    # demands a subjectAltName, ours lets it be absent.
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    policy = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
    )
    if now is not None:
        policy = policy.time(now)
    verifier = policy.build_client_verifier()
    try:
        verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:
        raise UntrustedCertificate(f"certificate chain does not verify: {exc}") from None
    if leaf.serial_number in revoked_serials:
        raise UntrustedCertificate(f"certificate {leaf.serial_number:x} is revoked")
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise UntrustedCertificate("certificate has no extendedKeyUsage") from None
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise UntrustedCertificate("certificate is not for client authentication")
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise UntrustedCertificate("certificate must carry exactly one CN")
    try:
        return parse_member_common_name(str(names[0].value))
    except InvalidPrincipal as exc:
        raise UntrustedCertificate(str(exc)) from None
