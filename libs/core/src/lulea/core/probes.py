"""/healthz, /readyz and /metrics for a component that has no HTTP API of its own (the
operators): served while the component runs, standby or leader, so Kubernetes' probes and
Prometheus see it either way; and running such a component under its Lease.

    server = probe_server(host, port, ready=lambda: (True, "leader"))
    await server.serve()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lulea.core.kube import Kube, LeaderElectionSettings, LeaderLease, LeadershipLost, connect, while_leading
from lulea.core.metrics import LEADER

Readiness = Callable[[], tuple[bool, str]]


def probe_app(ready: Readiness) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ok, role = ready()
        return JSONResponse({"status": "ready" if ok else "not ready", "role": role},
                            status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz),
                             Route("/metrics", metrics)])


def probe_server(host: str, port: int, ready: Readiness) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(probe_app(ready), host=host, port=port, log_config=None,
                                         access_log=False, lifespan="off"))


async def run_elected(work: Callable[[], Awaitable[object]], *, election: LeaderElectionSettings,
                      lease_name: str, kubeconfig: str | None, host: str, port: int) -> None:
    """Serve the probes at once (standby or leader), and run `work` while holding the Lease.

    `work` is a whole operator (kopf): when the Lease is lost, `LeadershipLost` ends the
    process, which comes back as a standby; a standby takes over once the Lease expires."""
    role = ["standby" if election.leader_elect else "leader"]
    probes = asyncio.create_task(probe_server(host, port, lambda: (True, role[0])).serve())

    async def leading() -> None:
        role[0] = "leader"
        LEADER.labels(lease_name).set(1)
        await work()

    try:
        if not election.leader_elect:
            await leading()
            return
        api = await connect(kubeconfig)
        try:
            lease = LeaderLease(Kube(api), election.lease_namespace, lease_name, election.identity,
                                election.lease_timing)
            await while_leading(lease, leading)
        finally:
            LEADER.labels(lease_name).set(0)
            await api.close()
    finally:
        probes.cancel()
        await asyncio.gather(probes, return_exceptions=True)


def main_elected(work: Callable[[], Awaitable[object]], *, election: LeaderElectionSettings,
                 lease_name: str, kubeconfig: str | None, host: str, port: int) -> None:
    """An operator's `main`: `run_elected` until it ends; a lost Lease ends the process with
    status 1, so its Deployment starts it again as a standby."""
    try:
        asyncio.run(run_elected(work, election=election, lease_name=lease_name, kubeconfig=kubeconfig,
                                host=host, port=port))
    except LeadershipLost as lost:
        logging.getLogger("lulea.probes").error("%s: exiting, to come back as a standby", lost)
        raise SystemExit(1) from None
