"""`python -m lulea.operators.dataset`: run the Dataset operator (kopf) while this replica
holds the operator's Lease; a standby waits for it, and a leader that loses it exits."""

from __future__ import annotations

import kopf

from lulea.core.probes import main_elected
from lulea.operators.dataset import handlers  # noqa: F401 - registers the handlers
from lulea.operators.dataset.settings import DatasetSettings


def main() -> None:
    settings = DatasetSettings()
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=False)
    main_elected(lambda: kopf.operator(standalone=True, clusterwide=True), election=settings,
                 lease_name=settings.lease_name, kubeconfig=settings.kubeconfig, host=settings.host,
                 port=settings.port)


if __name__ == "__main__":
    main()
