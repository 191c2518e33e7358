"""The CA hierarchy: an offline-style root that only signs intermediates, and the online
intermediate (critical basicConstraints pathLen 0, critical nameConstraints) that signs
everything else. ECDSA P-256 throughout."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lulea.ca.store.keyfiles import INTERMEDIATE, ROOT, KeyFiles

ROOT_LIFETIME = dt.timedelta(days=3650)
INTERMEDIATE_LIFETIME = dt.timedelta(days=1825)
# Names the platform's servers may carry: cluster service names and loopback (local stack).
# Only fully qualified names: pkilint (and the CA/B profile) refuse single labels such as
# `localhost` or `svc`, so services are named `<svc>.<ns>.svc.cluster.local`.
DEFAULT_PERMITTED_DNS = ("cluster.local",)
DEFAULT_PERMITTED_IPS = ("127.0.0.0/8", "10.0.0.0/8", "::1/128")


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str = "Lulea") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Authority:
    """One CA: its certificate and private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Hierarchy:
    """What the online CA holds: the root's certificate (never its key) and the intermediate."""

    root: x509.Certificate
    intermediate: Authority

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    @property
    def chain_pem(self) -> bytes:
        """Intermediate then root: what a leaf's `ca.crt` holds."""
        return self.intermediate.cert_pem() + self.root_pem()


def _ca_extensions(
    builder: x509.CertificateBuilder,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    path_length: int | None,
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)
    )


def create_root(common_name: str = "Lulea Root CA", now: dt.datetime | None = None) -> Authority:
    now = now or dt.datetime.now(dt.UTC)
    key = new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_LIFETIME)
    )
    cert = _ca_extensions(builder, key, key, path_length=1).sign(key, hashes.SHA256())
    return Authority(cert, key)


def name_constraints(
    dns: Sequence[str] = DEFAULT_PERMITTED_DNS, ips: Sequence[str] = DEFAULT_PERMITTED_IPS
) -> x509.NameConstraints:
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    permitted += [x509.IPAddress(ipaddress.ip_network(n)) for n in ips]
    return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None)


def create_intermediate(
    root: Authority,
    common_name: str = "Lulea Intermediate CA",
    *,
    permitted_dns: Sequence[str] = DEFAULT_PERMITTED_DNS,
    permitted_ips: Sequence[str] = DEFAULT_PERMITTED_IPS,
    now: dt.datetime | None = None,
) -> Authority:
    """An intermediate that may sign leaves only (pathLen 0), only for platform names."""
    now = now or dt.datetime.now(dt.UTC)
    key = new_key()
    not_after = min(now + INTERMEDIATE_LIFETIME, root.cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(name_constraints(permitted_dns, permitted_ips), True)
    )
    cert = _ca_extensions(builder, key, root.key, path_length=0).sign(root.key, hashes.SHA256())
    return Authority(cert, key)


def load_authority(cert_pem: bytes, key_pem: bytes) -> Authority:
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("CA key must be an EC key")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValueError("CA key does not match its certificate")
    return Authority(cert, key)


def from_pem(root_cert: bytes, intermediate_cert: bytes, intermediate_key: bytes) -> Hierarchy:
    """The online part: the root's certificate and the intermediate's key pair."""
    return Hierarchy(root=x509.load_pem_x509_certificate(root_cert),
                     intermediate=load_authority(intermediate_cert, intermediate_key))


def load_files(files: KeyFiles) -> Hierarchy:
    return from_pem(files.certificate(ROOT), files.certificate(INTERMEDIATE), files.key(INTERMEDIATE))


def ensure_files(files: KeyFiles) -> tuple[Hierarchy, bool]:
    """Create root and intermediate if absent; returns (hierarchy, created_anything).

    Idempotent: an existing root is kept (and an existing intermediate with it); a missing
    intermediate is signed by the existing root.
    """
    files.ensure_directory()
    created = False
    if files.has_key(ROOT):
        root = load_authority(files.certificate(ROOT), files.key(ROOT))
    else:
        root = create_root()
        files.save(ROOT, root.cert_pem(), root.key_pem())
        created = True
    if not files.has_key(INTERMEDIATE):
        intermediate = create_intermediate(root)
        files.save(INTERMEDIATE, intermediate.cert_pem(), intermediate.key_pem())
        created = True
    return load_files(files), created
