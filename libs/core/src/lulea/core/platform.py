"""What every platform component shares: where it runs, who it is, how it reaches Kafka.

Settings from the environment (prefix `LULEA_`, the same names in the chart and under
`make up`):

    LULEA_ENV               local | cluster; switches that weaken security are refused
                            at start-up unless this is `local`
    LULEA_SERVICE_ACCOUNT   this component's service account: the CN of its certificate
                            and its Kafka principal (`lulea-ca`, `lulea-operator-project`)
    LULEA_CA_URL            the CA's API (https), where the component asks for its cert
    LULEA_TRUST_FILE        the platform root (PEM): verifies every Lulea TLS endpoint
    LULEA_TOKEN_FILE        a service-account token with audience `lulea` (projected)
    LULEA_IDENTITY_DIR      where the component keeps its key and certificate
    LULEA_SERVER_NAMES      the names it serves under (DNS names and IPs), if it serves
    LULEA_KAFKA_BOOTSTRAP   the platform listener of Kafka
    LULEA_KAFKA_TRUST_FILE  the brokers' CA (PEM), if not the platform root
    LULEA_CRL_URL           the CA's CRL, which services check client certificates against

`identity()` returns this component's certificate: the files in LULEA_IDENTITY_DIR while
they are valid and less than two thirds through their life, else a new key and a
certificate signed by the CA from a CSR authenticated with the audience-bound token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kafka import KafkaClient

log = logging.getLogger("lulea.platform")
AUDIENCE = "lulea"  # the audience of every token a Lulea service accepts


class Environment(StrEnum):
    LOCAL = "local"
    CLUSTER = "cluster"


class InsecureSetting(ValueError):
    """A switch that weakens security, set outside a local run."""


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_", extra="ignore")

    env: Environment = Environment.CLUSTER
    namespace: str = "lulea-system"  # the platform namespace, where the service account lives
    cluster_domain: str = "cluster.local"
    service_account: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    ca_url: str | None = Field(default=None, pattern=r"^https://")
    trust_file: Path | None = None
    token_file: Path | None = None
    identity_dir: Path | None = None
    server_names: list[str] = Field(default_factory=list)
    kafka_bootstrap: str | None = None
    kafka_trust_file: Path | None = None  # the brokers' CA, when it is not the platform root
    crl_url: str | None = None

    @property
    def certificate_names(self) -> list[str]:
        """The names in this component's certificate: the names it serves under, and always its
        own service name. (Java checks a certificate without a DNS name by its CN against the
        intermediate's name constraints, and a service account name fails that check.)"""
        own = f"{self.service_account}.{self.namespace}.svc.{self.cluster_domain}"
        return list(dict.fromkeys([*self.server_names, own]))

    def refuse_unless_local(self, setting: str, why: str) -> None:
        """Call at start-up for every switch that weakens security."""
        if self.env is not Environment.LOCAL:
            raise InsecureSetting(f"{setting} {why}; it is refused outside a local run "
                                  f"(LULEA_ENV=local), and this is {self.env.value}")

    def kafka(self, identity: Identity) -> KafkaClient:
        """`identity` on the platform listener of Kafka."""
        if self.kafka_bootstrap is None:
            raise ValueError("LULEA_KAFKA_BOOTSTRAP is not set")
        return identity.kafka(self.kafka_bootstrap, self.kafka_trust_file)

    def token(self) -> str:
        """The audience-bound token, read afresh (the kubelet rotates the projected file)."""
        if self.token_file is None:
            raise ValueError("LULEA_TOKEN_FILE is not set")
        return self.token_file.read_text().strip()


@dataclass(frozen=True)
class Identity:
    """A component's TLS identity: its key, its certificate chain, and the platform root."""

    name: str
    cert_file: Path
    key_file: Path
    trust_file: Path
    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def renew_at(self) -> dt.datetime:
        return self.not_before + (self.not_after - self.not_before) * 2 / 3

    def kafka(self, bootstrap: str, trust_file: Path | None = None) -> KafkaClient:
        """This identity as a Kafka client (`trust_file`: the brokers' CA, default the root)."""
        return KafkaClient.from_files(bootstrap, trust_file or self.trust_file, self.cert_file, self.key_file)


def read_identity(name: str, directory: Path, trust: Path) -> Identity | None:
    """The identity in `directory` if it is `name`'s and readable, else None."""
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    try:
        leaf = x509.load_pem_x509_certificates(cert_file.read_bytes())[0]
        key_file.stat()
    except (OSError, ValueError, IndexError):
        return None
    cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cns or cns[0].value != name:
        return None
    return Identity(name, cert_file, key_file, trust, leaf.not_valid_before_utc, leaf.not_valid_after_utc)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def csr_for(name: str, server_names: list[str]) -> tuple[ec.EllipticCurvePrivateKey, str]:
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for n in server_names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


async def request_identity(settings: PlatformSettings, *, now: dt.datetime | None = None) -> Identity:
    """This component's identity: the valid files it has, or a new certificate from the CA."""
    name, directory, trust = settings.service_account, settings.identity_dir, settings.trust_file
    if not (name and directory and trust and settings.ca_url):
        raise ValueError("a platform identity needs LULEA_SERVICE_ACCOUNT, LULEA_IDENTITY_DIR, "
                         "LULEA_TRUST_FILE and LULEA_CA_URL")
    now = now or dt.datetime.now(dt.UTC)
    current = read_identity(name, directory, trust)
    if current is not None and now < current.renew_at:
        return current
    key, csr = csr_for(name, settings.certificate_names)
    profile = "server" if settings.server_names else "client"
    async with httpx.AsyncClient(base_url=settings.ca_url, verify=_context(trust), timeout=30) as ca:
        answer = await ca.post("/v1/certificates/sign", json={"csr": csr, "profile": profile},
                               headers={"Authorization": f"Bearer {settings.token()}"})
    if answer.status_code != 201:
        raise RuntimeError(f"the CA refused {name}'s certificate: {answer.status_code} {answer.text[:300]}")
    body = answer.json()
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "tls.key", key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()), 0o600)
    _write(directory / "tls.crt", (body["certificate"] + body["chain"]).encode(), 0o644)
    identity = read_identity(name, directory, trust)
    assert identity is not None
    log.info("certificate for %s issued by the CA until %s", name, identity.not_after.isoformat())
    return identity


def _context(trust: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(trust))


async def renew_forever(settings: PlatformSettings, identity: Identity,
                        renewed: Callable[[Identity], Awaitable[None] | None],
                        retry_seconds: float = 60.0) -> None:
    """Re-request the certificate at two thirds of its life; call `renewed` with the new one."""
    while True:
        wait = (identity.renew_at - dt.datetime.now(dt.UTC)).total_seconds()
        await asyncio.sleep(max(wait, 0))
        try:
            identity = await request_identity(settings)
        except Exception as err:  # the CA is away: keep the current certificate and try again
            log.warning("renewing %s's certificate failed (%s); retrying in %.0fs",
                        identity.name, err, retry_seconds)
            await asyncio.sleep(retry_seconds)
            continue
        outcome = renewed(identity)
        if outcome is not None:
            await outcome
