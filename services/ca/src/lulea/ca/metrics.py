"""Prometheus metrics of the CA."""

from prometheus_client import Counter, Gauge

ISSUED = Counter("lulea_ca_certificates_issued_total", "Certificates issued", ["profile"])
REVOKED = Counter("lulea_ca_certificates_revoked_total", "Certificates revoked", ["reason"])
CRL_NUMBER = Gauge("lulea_ca_crl_number", "CRL number of the CRL being served")
CRL_NEXT_UPDATE = Gauge("lulea_ca_crl_next_update_seconds", "nextUpdate of the served CRL")
