"""Every certificate the CA makes, the intermediate and the CRL lint clean with pkilint."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.issuance import issue_member, sign
from lulea.ca.domain.profiles import Profile, Subject
from lulea.ca.domain.revocation import RevokedEntry, build_crl
from lulea.ca.store.base import Reason
from lulea.core.auth import MemberPrincipal

BIN = Path(sys.executable).parent


def findings(tool: list[str], der: bytes, tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "doc.der"
    path.write_bytes(der)
    out = subprocess.run(
        [str(BIN / tool[0]), *tool[1:], "-f", "JSON", "-s", "WARNING", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout.strip(), out.stderr
    report = json.loads(out.stdout)
    results = report["results"] if isinstance(report, dict) else report
    found = [
        {"validator": r.get("validator"), **f} for r in results for f in r.get("finding_descriptions", [])
    ]
    assert out.returncode == len(found), (out.returncode, found)
    return found


def der(cert) -> bytes:  # type: ignore[no-untyped-def]
    return cert.public_bytes(serialization.Encoding.DER)


def test_root_and_intermediate_lint_clean(hierarchy: Hierarchy, tmp_path: Path) -> None:
    assert findings(["lint_pkix_cert", "lint"], der(hierarchy.root), tmp_path) == []
    assert findings(["lint_pkix_cert", "lint"], der(hierarchy.intermediate.cert), tmp_path) == []


@pytest.mark.parametrize("crl_url", [None, "http://ca.lulea-system.svc:8080/crl"])
def test_member_certificate_lints_clean(hierarchy: Hierarchy, tmp_path: Path, crl_url: str | None) -> None:
    subject = Subject.member(MemberPrincipal("p1", "alice"), "DataOwner")
    issued = issue_member(hierarchy, subject, crl_url=crl_url)
    assert findings(["lint_pkix_cert", "lint"], der(issued.cert), tmp_path) == []


def test_server_certificate_lints_clean(hierarchy: Hierarchy, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = Subject(
        common_name="kafka-broker",
        profile=Profile.SERVER,
        organization="Lulea",
        dns_names=("kafka-broker.lulea-system.svc.cluster.local",),
        ip_addresses=("127.0.0.1",),
    )
    cert = sign(hierarchy, subject, key.public_key()).cert
    assert findings(["lint_pkix_cert", "lint"], der(cert), tmp_path) == []


@pytest.mark.parametrize("revoked", [0, 3])
def test_crl_lints_clean(hierarchy: Hierarchy, tmp_path: Path, revoked: int) -> None:
    now = dt.datetime.now(dt.UTC)
    entries = [
        RevokedEntry(serial=1000 + i, revoked_at=now, reason=list(Reason)[i % len(Reason)])
        for i in range(revoked)
    ]
    crl = build_crl(hierarchy.intermediate, entries, number=7, now=now)
    assert findings(["lint_crl", "lint", "-t", "CRL", "-p", "PKIX"], der(crl), tmp_path) == []
