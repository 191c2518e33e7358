"""`python -m lulea.operators.project`: run the Project operator (kopf) while this replica
holds the operator's Lease; a standby waits for it, and a leader that loses it exits."""

from __future__ import annotations

import asyncio
import logging

import kopf

from lulea.core.kube import LeadershipLost
from lulea.core.probes import run_elected
from lulea.operators.project import handlers  # noqa: F401 - registers the handlers
from lulea.operators.project.settings import OperatorSettings

log = logging.getLogger("lulea.operators.project")


def main() -> None:
    settings = OperatorSettings()  # from the environment
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=False)
    try:
        asyncio.run(run_elected(lambda: kopf.operator(standalone=True, clusterwide=True),
                                election=settings, lease_name=settings.lease_name,
                                kubeconfig=settings.kubeconfig, host=settings.host, port=settings.port))
    except LeadershipLost as lost:
        log.error("%s: exiting, to come back as a standby", lost)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
