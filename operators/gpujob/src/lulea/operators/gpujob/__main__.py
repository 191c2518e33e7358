"""`python -m lulea.operators.gpujob`: run the operator cluster-wide (kopf standalone)."""

from __future__ import annotations

import asyncio

import kopf

from lulea.operators.gpujob import handlers  # noqa: F401  (registers the handlers)
from lulea.operators.gpujob.settings import GpuJobSettings


def main() -> None:
    settings = GpuJobSettings()  # refuse bad settings before anything starts
    liveness = f"http://{settings.host}:{settings.port}/healthz" if settings.port else None
    kopf.configure(verbose=False)
    asyncio.run(kopf.operator(clusterwide=True, standalone=True, liveness_endpoint=liveness))


if __name__ == "__main__":
    main()
