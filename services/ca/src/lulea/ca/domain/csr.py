"""Vetting a CSR: parse it, check its key, and decide the subject the caller may have.

The CA never copies a CSR's subject: it computes the subject from who is asking, then
checks that the CSR asks for nothing more.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from lulea.ca.domain.errors import BadSubject, MalformedCsr, SubjectNotAllowed, UnsupportedKey
from lulea.ca.domain.profiles import Profile, Subject
from lulea.core.auth import KubernetesPrincipal, MemberPrincipal, Principal

MAX_CSR_BYTES = 16 * 1024
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1)
RSA_BITS = (2048, 3072, 4096)
MAX_SANS = 32


@dataclass(frozen=True)
class CertificateRequest:
    csr: x509.CertificateSigningRequest
    common_name: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]


def parse_csr(pem: str) -> CertificateRequest:
    """Parse and self-check a PEM CSR; refuse weak or unknown keys."""
    data = pem.encode()
    if len(data) > MAX_CSR_BYTES:
        raise MalformedCsr(f"CSR larger than {MAX_CSR_BYTES} bytes")
    try:
        csr = x509.load_pem_x509_csr(data)
        valid = csr.is_signature_valid
        key = csr.public_key()
    except (ValueError, TypeError) as exc:
        raise MalformedCsr(f"not a PEM certificate signing request: {exc}") from None
    except Exception:  # the Rust parser raises its own types for odd DER
        raise MalformedCsr("not a PEM certificate signing request") from None
    if not valid:
        raise MalformedCsr("CSR signature does not verify")
    _check_key(key)
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise BadSubject("CSR subject must hold exactly one CN")
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = x509.SubjectAlternativeName([])
    except ValueError as exc:
        raise MalformedCsr(f"CSR extensions do not parse: {exc}") from None
    others = [n for n in san if not isinstance(n, x509.DNSName | x509.IPAddress)]
    if others:
        raise BadSubject("only DNS and IP subjectAltNames are allowed")
    dns = tuple(str(n).lower() for n in san.get_values_for_type(x509.DNSName))
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    if len(dns) + len(ips) > MAX_SANS:
        raise BadSubject(f"at most {MAX_SANS} subjectAltNames")
    return CertificateRequest(csr, str(names[0].value), dns, ips)


def _check_key(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise UnsupportedKey(f"EC curve {key.curve.name} not allowed; use P-256 or P-384")
        return
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in RSA_BITS:
            raise UnsupportedKey(f"RSA key of {key.key_size} bits not allowed; use 2048-4096")
        return
    raise UnsupportedKey(f"key type {type(key).__name__} not allowed; use ECDSA P-256")


def service_dns_names(name: str, namespace: str, domain: str = "cluster.local") -> set[str]:
    """The DNS names a platform service account may put in its server certificate: its
    fully qualified Service name, and the wildcard for a headless Service's pods."""
    fqdn = f"{name}.{namespace}.svc.{domain}"
    return {fqdn, f"*.{fqdn}"}


def authorize(
    request: CertificateRequest,
    caller: Principal,
    profile: Profile,
    *,
    platform_namespaces: frozenset[str],
    member_role: str | None = None,
) -> Subject:
    """The subject `caller` may have for `request`, or raise SubjectNotAllowed/BadSubject.

    - a platform service account (namespace in `platform_namespaces`) may get a server or
      client certificate whose CN is its own name, SANs among its service names or (server
      only) loopback; a client certificate names its service too, for Java verifiers, which
      check a certificate without DNS names by its CN against the name constraints;
    - a project member (`member_role` set: the CA's records say they are a member) may get
      a member certificate for exactly `<project>__<user>`;
    - nobody else gets anything.
    """
    if isinstance(caller, MemberPrincipal):
        return _member_subject(request, caller, profile, member_role)
    account = caller.service_account
    if account is None or account[0] not in platform_namespaces:
        raise SubjectNotAllowed("only platform service accounts and project members may sign")
    namespace, name = account
    if profile is Profile.MEMBER:
        raise SubjectNotAllowed("member certificates are issued from project membership only")
    if request.common_name != name:
        raise SubjectNotAllowed(f"CN must be the service account name {name!r}")
    allowed = service_dns_names(name, namespace)
    for dns in request.dns_names:
        if dns not in allowed:
            raise SubjectNotAllowed(
                f"DNS name {dns!r} is not a name of service {name!r}; allowed: {sorted(allowed)}"
            )
    for ip in request.ip_addresses:
        if not ipaddress.ip_address(ip).is_loopback:
            raise SubjectNotAllowed(f"IP {ip} not allowed: only loopback addresses")
    if profile is Profile.CLIENT and request.ip_addresses:
        raise BadSubject("client certificates carry no IP subjectAltNames (only the service's own names)")
    return Subject(
        common_name=name,
        profile=profile,
        organization="Lulea",
        organizational_unit=namespace,
        dns_names=request.dns_names,
        ip_addresses=request.ip_addresses,
    )


def _member_subject(
    request: CertificateRequest, caller: MemberPrincipal, profile: Profile, role: str | None
) -> Subject:
    if profile is not Profile.MEMBER or role is None:
        raise SubjectNotAllowed("a project member may only ask for its own member certificate")
    if request.common_name != caller.common_name:
        raise SubjectNotAllowed(f"CN must be {caller.common_name!r}")
    if request.dns_names or request.ip_addresses:
        raise BadSubject("member certificates carry no subjectAltNames")
    return Subject.member(caller, role)


def member_from_username(caller: KubernetesPrincipal, project: str) -> MemberPrincipal | None:
    """A Kubernetes user `alice` asking for project `p1` is the member `p1__alice`."""
    if caller.service_account is not None:
        return None
    try:
        return MemberPrincipal(project, caller.username)
    except ValueError:
        return None
