"""Who is calling: a project member (client certificate CN `<project>__<user>`) or a
Kubernetes identity (TokenReview). Services decide what a principal may do; this package
only says who it is."""

from lulea.core.auth.principal import (
    MEMBER_SEPARATOR,
    KubernetesPrincipal,
    MemberPrincipal,
    Principal,
    member_common_name,
    parse_member_common_name,
)

__all__ = [
    "MEMBER_SEPARATOR",
    "KubernetesPrincipal",
    "MemberPrincipal",
    "Principal",
    "member_common_name",
    "parse_member_common_name",
]
