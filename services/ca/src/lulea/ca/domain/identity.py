"""The CA's own TLS identity: it cannot ask itself over HTTPS for a certificate, so it signs
its own server certificate (serverAuth + clientAuth: also its Kafka client certificate) with
its intermediate, under the same rules as any platform component's (CN = its service account,
SANs among its service names and loopback), and keeps it as files like every component."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from lulea.ca.domain.hierarchy import Hierarchy, new_key
from lulea.ca.domain.issuance import sign
from lulea.ca.domain.profiles import Profile, Subject
from lulea.ca.store.keyfiles import write
from lulea.core.platform import Identity, read_identity


def own_identity(hierarchy: Hierarchy, name: str, server_names: list[str], directory: Path,
                 trust_file: Path, *, lifetime: dt.timedelta = dt.timedelta(days=30),
                 now: dt.datetime | None = None) -> Identity:
    """The CA's certificate: the one on disk while valid and fresh, else a new one."""
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    if not trust_file.exists():
        write(trust_file, hierarchy.root_pem(), 0o644)
    current = read_identity(name, directory, trust_file)
    if current is not None and now < current.renew_at:
        return current
    dns, ips = [], []
    for n in server_names:
        try:
            ips.append(str(ipaddress.ip_address(n)))
        except ValueError:
            dns.append(n)
    key = new_key()
    subject = Subject(common_name=name, profile=Profile.SERVER, organization="Lulea",
                      dns_names=tuple(dns), ip_addresses=tuple(ips))
    signed = sign(hierarchy, subject, key.public_key(), lifetime=lifetime, now=now)
    write(directory / "tls.key", key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()), 0o600)
    write(directory / "tls.crt", signed.cert_pem() + hierarchy.chain_pem, 0o644)
    identity = read_identity(name, directory, trust_file)
    assert identity is not None
    return identity
