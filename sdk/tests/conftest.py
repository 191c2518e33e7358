"""Fixtures: a member certificate made here (a throwaway CA, no platform needed)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class ThrowawayCa:
    """A throwaway CA: member certificates and a loopback server certificate."""

    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(1)
                     .not_valid_before(now - dt.timedelta(hours=1))
                     .not_valid_after(now + dt.timedelta(days=10))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, days: float = 1.0, server: bool = False) -> tuple[bytes, bytes]:
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=2))
                   .not_valid_after(now + dt.timedelta(days=days)))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_member_cert(common_name: str, days: float = 1.0, ca: ThrowawayCa | None = None
                     ) -> tuple[bytes, bytes, bytes]:
    """(cert PEM, key PEM, CA PEM) of a member certificate signed by a throwaway CA."""
    ca = ca or ThrowawayCa()
    cert, key = ca.issue(common_name, days)
    return cert, key, ca.pem


@pytest.fixture
def test_ca() -> ThrowawayCa:
    return ThrowawayCa()


@pytest.fixture
def cert_dir(tmp_path: Path, test_ca: ThrowawayCa) -> Path:
    """What a job finds at LULEA_CERT_DIR for p1__alice."""
    d = tmp_path / "certs"
    d.mkdir()
    cert, key, ca = make_member_cert("p1__alice", ca=test_ca)
    (d / "tls.crt").write_bytes(cert)
    (d / "tls.key").write_bytes(key)
    (d / "ca.crt").write_bytes(ca)
    return d


@pytest.fixture
def job_env(cert_dir: Path) -> dict[str, str]:
    return {"LULEA_PROJECT": "p1", "LULEA_JOB": "train", "LULEA_USER": "alice",
            "LULEA_CERT_DIR": str(cert_dir), "LULEA_KAFKA_BOOTSTRAP": "127.0.0.1:9093",
            "LULEA_SCHEMA_REGISTRY_URL": "https://127.0.0.1:8081",
            "LULEA_STORAGE_URL": "https://127.0.0.1:50470", "LULEA_LOGS_URL": "https://127.0.0.1:9428"}
