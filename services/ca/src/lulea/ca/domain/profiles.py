"""Certificate profiles: what a member, service or broker certificate looks like."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lulea.core.auth import MemberPrincipal

DEFAULT_LIFETIME = dt.timedelta(days=30)
BACKDATE = dt.timedelta(minutes=5)  # tolerate clock skew between the CA and verifiers


class Profile(StrEnum):
    MEMBER = "member"  # CN=<project>__<user>, O=<project>, OU=<role>; clientAuth
    SERVER = "server"  # a platform service or Kafka broker: SANs; serverAuth + clientAuth
    CLIENT = "client"  # a platform service calling others: clientAuth


@dataclass(frozen=True)
class Subject:
    """What the CA will write into a certificate (never copied blindly from a CSR)."""

    common_name: str
    profile: Profile
    organization: str | None = None
    organizational_unit: str | None = None
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def member(cls, principal: MemberPrincipal, role: str) -> Subject:
        return cls(
            common_name=principal.common_name,
            profile=Profile.MEMBER,
            organization=principal.project,
            organizational_unit=role,
        )

    def x509_name(self) -> x509.Name:
        attrs = []
        if self.organization:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization))
        if self.organizational_unit:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.organizational_unit))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, self.common_name))
        return x509.Name(attrs)

    def general_names(self) -> list[x509.GeneralName]:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in self.dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in self.ip_addresses]
        return names

    def extended_key_usage(self) -> Sequence[x509.ObjectIdentifier]:
        if self.profile is Profile.SERVER:
            return [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        return [ExtendedKeyUsageOID.CLIENT_AUTH]


def renewal_time(not_before: dt.datetime, not_after: dt.datetime) -> dt.datetime:
    """Renew at two thirds of the lifetime (cert-manager's default)."""
    return not_before + (not_after - not_before) * 2 / 3
