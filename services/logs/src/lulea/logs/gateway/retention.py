"""A Project's logs go when the Project goes.

VictoriaLogs' own retention (`-retentionPeriod`, the chart's `logs.retention`) drops old
days for everyone. When a Project is deleted, its tenant's lines are deleted with
VictoriaLogs' delete API (`/delete/run_task?filter=*` under the tenant's headers; the
server runs with `-delete.enable`, reachable only by the platform). Two triggers: the
informer saw the Project deleted, and a sweep every `sweep_seconds` over the tenants
VictoriaLogs holds (`/select/tenant_ids`) that no Project names, which also catches a
deletion that happened while no gateway ran, and lines that arrived after the first delete
(a terminating pod's last words).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import httpx

from lulea.logs.tenancy import Tenant, tenant_of

log = logging.getLogger("lulea.logs.retention")


async def has_lines(vl: httpx.AsyncClient, tenant: Tenant) -> bool:
    answer = await vl.get("/select/logsql/query", params={"query": "*", "limit": "1"},
                          headers=tenant.headers())
    answer.raise_for_status()
    return bool(answer.content.strip())


async def delete_tenant(vl: httpx.AsyncClient, tenant: Tenant) -> bool:
    """Start deleting every line of `tenant`; False when it had none."""
    if not await has_lines(vl, tenant):
        return False
    answer = await vl.post("/delete/run_task", params={"filter": "*"}, headers=tenant.headers())
    answer.raise_for_status()
    log.info("deleting the logs of tenant %s:%s (task %s)", tenant.account_id, tenant.project_id,
             answer.json().get("task_id"))
    return True


async def tenants(vl: httpx.AsyncClient) -> set[Tenant]:
    answer = await vl.get("/select/tenant_ids")
    answer.raise_for_status()
    out = set()
    for t in answer.json() or []:
        out.add(Tenant(int(t.get("account_id", 0)), int(t.get("project_id", 0))))
    return out


def orphans(held: Iterable[Tenant], projects: Iterable[str]) -> set[Tenant]:
    """Tenants with lines but no Project (tenant 0:0 is nobody's: never touched)."""
    wanted = {tenant_of(p) for p in projects}
    return {t for t in held if t not in wanted and (t.account_id, t.project_id) != (0, 0)}


async def sweep_forever(vl: httpx.AsyncClient, projects: Callable[[], list[str]], synced: asyncio.Event,
                        deleted: asyncio.Queue[str], every: float) -> None:
    """Delete on the informer's word at once; sweep orphans every `every` seconds. An orphan is
    deleted only when two sweeps in a row found it: a project created a moment ago may have
    lines before this gateway's informer has seen it."""
    await synced.wait()
    suspects: set[Tenant] = set()
    while True:
        try:
            async with asyncio.timeout(every):
                name = await deleted.get()
                await delete_tenant(vl, tenant_of(name))
                continue
        except TimeoutError:
            pass
        except (httpx.HTTPError, ValueError) as err:
            log.warning("deleting a project's logs failed (%s); the sweep retries", err)
        try:
            found = orphans(await tenants(vl), projects())
            for tenant in found & suspects:
                await delete_tenant(vl, tenant)
            suspects = found
        except (httpx.HTTPError, ValueError) as err:
            log.warning("sweep of deleted projects' logs failed: %s", err)
