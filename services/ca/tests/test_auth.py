"""lulea.core.auth: member principals from names and client certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lulea.ca.domain.hierarchy import Hierarchy, create_intermediate, create_root
from lulea.ca.domain.issuance import issue_member, sign
from lulea.ca.domain.profiles import Profile, Subject
from lulea.core.auth import KubernetesPrincipal, MemberPrincipal, parse_member_common_name
from lulea.core.auth.clientcert import UntrustedCertificate, member_from_certificate
from lulea.core.auth.principal import InvalidPrincipal
from lulea.core.auth.tokenreview import TokenRejected, bearer_token


def test_common_name_round_trip() -> None:
    member = parse_member_common_name("p1__alice")
    assert member == MemberPrincipal("p1", "alice")
    assert member.kafka_principal == "User:p1__alice"


@pytest.mark.parametrize(
    "name",
    [
        "p1alice",
        "__alice",
        "p1__",
        "P1__alice",
        "p1__al__ice",
        "p1__a.b",
        "p_1__alice",
        "p1__alice,O=x",
        "-p__a",
        "p1__" + "a" * 64,
    ],
)
def test_bad_member_names_refused(name: str) -> None:
    with pytest.raises(InvalidPrincipal):
        parse_member_common_name(name)


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("system:serviceaccount:lulea-system:ca", ("lulea-system", "ca")),
        ("system:serviceaccount:lulea-system", None),
        ("system:serviceaccount::ca", None),
        ("system:serviceaccount:a:b:c", None),
        ("alice", None),
    ],
)
def test_service_account_parsing(username: str, expected: tuple[str, str] | None) -> None:
    assert KubernetesPrincipal(username).service_account == expected


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer"])
def test_bad_authorization_headers(header: str | None) -> None:
    with pytest.raises(TokenRejected):
        bearer_token(header)


def test_bearer_token() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"


def test_member_from_verified_certificate(hierarchy: Hierarchy) -> None:
    issued = issue_member(hierarchy, Subject.member(MemberPrincipal("p1", "alice"), "DataOwner"))
    member = member_from_certificate(issued.cert, [hierarchy.intermediate.cert], [hierarchy.root])
    assert member == MemberPrincipal("p1", "alice")


def test_revoked_certificate_refused(hierarchy: Hierarchy) -> None:
    issued = issue_member(hierarchy, Subject.member(MemberPrincipal("p1", "bob"), "DataOwner"))
    with pytest.raises(UntrustedCertificate, match="revoked"):
        member_from_certificate(
            issued.cert,
            [hierarchy.intermediate.cert],
            [hierarchy.root],
            revoked_serials=frozenset({issued.cert.serial_number}),
        )


def test_other_root_refused(hierarchy: Hierarchy) -> None:
    other_root = create_root("Other Root")
    other = Hierarchy(other_root.cert, create_intermediate(other_root))
    issued = issue_member(other, Subject.member(MemberPrincipal("p1", "alice"), "DataOwner"))
    with pytest.raises(UntrustedCertificate, match="does not verify"):
        member_from_certificate(issued.cert, [other.intermediate.cert], [hierarchy.root])


def test_expired_certificate_refused(hierarchy: Hierarchy) -> None:
    issued = issue_member(hierarchy, Subject.member(MemberPrincipal("p1", "alice"), "DataOwner"))
    later = issued.not_after + dt.timedelta(days=1)
    with pytest.raises(UntrustedCertificate):
        member_from_certificate(issued.cert, [hierarchy.intermediate.cert], [hierarchy.root], now=later)


def test_server_only_or_non_member_cn_refused(hierarchy: Hierarchy) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = Subject(common_name="kafka-broker", profile=Profile.CLIENT)
    cert = sign(hierarchy, subject, key.public_key()).cert
    with pytest.raises(UntrustedCertificate, match="project"):
        member_from_certificate(cert, [hierarchy.intermediate.cert], [hierarchy.root])
