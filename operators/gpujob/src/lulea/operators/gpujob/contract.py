"""The pod contract with the placement scheduler (mirrors lulea.placement.contract: an
operator never imports a service). docs/gpu-jobs.md describes it in prose."""

import re

from lulea.core.crds.admission import SUBMITTED_BY as ADMISSION_SUBMITTED_BY

SCHEDULER_NAME = "lulea-placement"
GPU = "nvidia.com/gpu"
GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "gpujobs"

GANG = "lulea.io/gang"
GANG_SIZE = "lulea.io/gang-size"
PROJECT = "lulea.io/project"
JOB = "lulea.io/job"
ATTEMPT = "lulea.io/attempt"
RANK = "lulea.io/rank"
GANG_HOSTS = "lulea.io/gang-hosts"
GROUP_BY = "lulea.io/topology-group-by"
PRIORITY = "lulea.io/priority"
SUBMITTED_BY = ADMISSION_SUBMITTED_BY  # stamped on the GpuJob by the API server (core admission policy)
SIM_PREFIX = "sim.lulea.io/"  # job annotations copied to pods (kwok stages act on them)

QUOTA_EXCEEDED = "QuotaExceeded"  # status reason: the project's GPU quota holds the job back
NEVER_FITS = "NeverFits"  # PodScheduled=False reason: terminal, the job fails at once
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
