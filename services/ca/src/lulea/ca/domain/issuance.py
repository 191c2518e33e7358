"""Signing: a fresh member key + certificate, or a certificate for a vetted CSR."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lulea.ca.domain.hierarchy import Hierarchy, new_key
from lulea.ca.domain.profiles import BACKDATE, DEFAULT_LIFETIME, Subject


@dataclass(frozen=True)
class SignedCertificate:
    cert: x509.Certificate
    chain_pem: bytes  # intermediate + root

    @property
    def serial_hex(self) -> str:
        return format(self.cert.serial_number, "x")

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc

    @property
    def not_before(self) -> dt.datetime:
        return self.cert.not_valid_before_utc

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class IssuedMemberCertificate(SignedCertificate):
    key: ec.EllipticCurvePrivateKey

    def secret_data(self) -> dict[str, bytes]:
        """What the member's Secret holds, all PEM: `tls.crt` + `tls.key` for most clients,
        `keystore.pem` (the key, then the leaf and intermediate) for the JVM: Kafka's Java
        clients read it as `ssl.keystore.type=PEM` (KIP-651, Kafka 2.7+), as our broker reads its
        own. No PKCS#12: its PBES2 key derivation was 80 % of an issuance's CPU (bench/ca), and
        its password would have sat beside it in the same Secret, protecting nothing."""
        intermediate_pem = self.chain_pem.split(b"-----END CERTIFICATE-----", 1)[0]
        intermediate_pem += b"-----END CERTIFICATE-----\n"
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        chain = self.cert_pem() + intermediate_pem
        return {
            "tls.crt": chain,
            "tls.key": key_pem,
            "ca.crt": self.chain_pem,
            "keystore.pem": key_pem + chain,
        }


def sign(
    hierarchy: Hierarchy,
    subject: Subject,
    public_key: object,
    *,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    crl_url: str | None = None,
    now: dt.datetime | None = None,
) -> SignedCertificate:
    """Sign `public_key` for `subject` with the intermediate."""
    now = now or dt.datetime.now(dt.UTC)
    issuer = hierarchy.intermediate
    not_after = min(now + lifetime, issuer.cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject.x509_name())
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=not isinstance(public_key, ec.EllipticCurvePublicKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.ExtendedKeyUsage(subject.extended_key_usage()), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)  # type: ignore[arg-type]
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    )
    names = subject.general_names()
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), False)
    cert = builder.sign(issuer.key, hashes.SHA256())
    return SignedCertificate(cert=cert, chain_pem=hierarchy.chain_pem)


def issue_member(
    hierarchy: Hierarchy,
    subject: Subject,
    *,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    crl_url: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedMemberCertificate:
    """A fresh P-256 key per issuance (the member never sees it) and its certificate."""
    key = new_key()
    signed = sign(hierarchy, subject, key.public_key(), lifetime=lifetime, crl_url=crl_url, now=now)
    return IssuedMemberCertificate(cert=signed.cert, chain_pem=signed.chain_pem, key=key)
