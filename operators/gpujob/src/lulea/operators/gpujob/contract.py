"""What the GpuJob operator alone knows: its resource, the submitter stamp, where a member's
certificate is mounted. The pod contract it shares with placement is `lulea.core.gangs`."""

import re

from lulea.core.crds.admission import SUBMITTED_BY as ADMISSION_SUBMITTED_BY

GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "gpujobs"
SUBMITTED_BY = ADMISSION_SUBMITTED_BY  # stamped on the GpuJob by the API server (core admission policy)
KWOK_TAINT_KEY = "kwok.x-k8s.io/node"
CERT_DIR = "/var/run/lulea/certs"


# A Secret name is a DNS subdomain: a submitter whose name cannot make one (a service account,
# "system:serviceaccount:ns:name", or an e-mail style name) has no certificate to mount.
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def cert_secret(user: str) -> str:
    """The CA service's Secret for a project member (services/ca `secret_name`)."""
    return f"lulea-cert-{user}"


def has_cert_secret(user: str) -> bool:
    name = cert_secret(user)
    return len(name) <= 253 and _SECRET_NAME.match(name) is not None
