"""The CA's own certificate: kept while fresh, signed anew past two thirds of its life."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509

from lulea.ca.domain.hierarchy import Hierarchy
from lulea.ca.domain.identity import own_identity


def serial(cert_file: Path) -> int:
    return x509.load_pem_x509_certificates(cert_file.read_bytes())[0].serial_number


def test_the_cas_certificate_is_kept_while_fresh_and_renewed_after(hierarchy: Hierarchy,
                                                                   tmp_path: Path) -> None:
    names = ["127.0.0.1", "lulea-ca.lulea-system.svc.cluster.local"]
    now = dt.datetime.now(dt.UTC)
    first = own_identity(hierarchy, "lulea-ca", names, tmp_path, tmp_path / "ca.crt", now=now)
    again = own_identity(hierarchy, "lulea-ca", names, tmp_path, tmp_path / "ca.crt", now=now)
    assert again == first
    before = serial(first.cert_file)
    later = own_identity(hierarchy, "lulea-ca", names, tmp_path, tmp_path / "ca.crt",
                         now=first.renew_at + dt.timedelta(seconds=1))
    assert serial(later.cert_file) != before and later.not_after > first.not_after
    leaf = x509.load_pem_x509_certificates(later.cert_file.read_bytes())[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "lulea-ca.lulea-system.svc.cluster.local" in sans.get_values_for_type(x509.DNSName)
