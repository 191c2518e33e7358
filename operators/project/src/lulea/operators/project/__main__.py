"""`python -m lulea.operators.project`: run the Project operator (kopf)."""

from __future__ import annotations

import asyncio

import kopf

from lulea.operators.project import handlers  # noqa: F401 - registers the handlers
from lulea.operators.project.settings import OperatorSettings


def main() -> None:
    settings = OperatorSettings()  # from the environment
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=False)
    asyncio.run(kopf.operator(
        standalone=True,  # one active replica is chosen by a Lease in the chart, not kopf peering
        clusterwide=True,
        liveness_endpoint=f"http://{settings.operator_host}:{settings.operator_port}/healthz",
    ))


if __name__ == "__main__":
    main()
