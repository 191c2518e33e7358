"""kopf wiring: every GpuJob and every pod of a gang leads to one reconcile of its job.

Level-based: handlers only say *which* job to look at; `Reconciler.reconcile` reads the job
and its pods and decides. A timer re-checks unfinished jobs (deadlines, missed events).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from lulea.core import gangs
from lulea.core.events import GPUJOB_EVENTS, EventPublisher, LoggedPublisher, Publishing
from lulea.core.kube import Kube, connect
from lulea.core.platform import PlatformSettings, renew_forever, request_identity
from lulea.operators.gpujob import contract as c
from lulea.operators.gpujob.gang import PodEnvironment
from lulea.operators.gpujob.reconcile import Reconciler
from lulea.operators.gpujob.settings import GpuJobSettings

log = logging.getLogger(__name__)
STATE: dict[str, Any] = {}
# kopf fixes a timer's interval when the handler is registered, so the setting is read here
RESYNC_SECONDS = GpuJobSettings().resync_seconds


def _reconciler() -> Reconciler:
    return STATE["reconciler"]  # type: ignore[no-any-return]


@kopf.on.startup()
async def startup(**kw: Any) -> None:
    settings: kopf.OperatorSettings = kw["settings"]
    conf = GpuJobSettings()
    settings.peering.standalone = True
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="gpujob.lulea.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="gpujob.lulea.io", key="last-handled-configuration"
    )
    # Kubernetes Events only for changes of state (reconcile posts those): not kopf's own
    # "handler succeeded" for every timer tick of every unfinished job.
    settings.posting.level = logging.WARNING
    api = await connect(conf.kubeconfig, pool=conf.api_connections)
    platform = PlatformSettings()
    events: Publishing = LoggedPublisher()
    if conf.publish_events and platform.kafka_bootstrap:
        identity = await request_identity(platform)  # this operator's certificate, from the CA
        kafka = platform.kafka(identity)
        events = EventPublisher(kafka, source="lulea/operator-gpujob", topic=GPUJOB_EVENTS)
        STATE["renewal"] = asyncio.create_task(
            renew_forever(platform, identity, lambda _new: kafka.reload()))
    await events.start()
    env = PodEnvironment(
        kafka_bootstrap=conf.member_kafka_bootstrap,
        schema_registry_url=conf.schema_registry_url,
        storage_url=conf.storage_url,
        logs_url=conf.logs_url,
        tolerate_kwok=conf.tolerate_kwok,
        network=conf.network,
        rendezvous_port=conf.rendezvous_port,
        loopback_ports=conf.loopback_ports,
    )
    STATE.update(api=api, events=events, settings=conf, reconciler=Reconciler(Kube(api), events, env))


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    if "renewal" in STATE:
        STATE["renewal"].cancel()
    if "events" in STATE:
        await STATE["events"].stop()
    if "api" in STATE:
        await STATE["api"].close()


@kopf.on.resume(c.GROUP, c.VERSION, c.PLURAL)
@kopf.on.create(c.GROUP, c.VERSION, c.PLURAL)
@kopf.on.field(c.GROUP, c.VERSION, c.PLURAL, field="spec.priority")
async def job_changed(**kw: Any) -> None:
    await _reconciler().poke(kw["namespace"], kw["name"])


@kopf.timer(
    c.GROUP,
    c.VERSION,
    c.PLURAL,
    interval=RESYNC_SECONDS,
    idle=None,
    when=lambda status, **_: (status or {}).get("phase") not in ("Succeeded", "Failed"),
)
async def job_resync(**kw: Any) -> None:
    await _reconciler().poke(kw["namespace"], kw["name"], unless_within=RESYNC_SECONDS)


@kopf.on.event("", "v1", "pods", labels={gangs.JOB: kopf.PRESENT, gangs.GANG: kopf.PRESENT})
async def gang_pod_changed(**kw: Any) -> None:
    if "reconciler" in STATE:
        await _reconciler().poke(kw["namespace"], kw["labels"][gangs.JOB])


@kopf.on.delete(c.GROUP, c.VERSION, c.PLURAL, optional=True)
async def job_deleted(**kw: Any) -> None:
    """Pods go with the job (ownerReferences); deleting them here frees GPUs sooner."""
    await Kube(STATE["api"]).request(
        "DELETE", f"/api/v1/namespaces/{kw['namespace']}/pods",
        query={"labelSelector": f"{gangs.JOB}={kw['name']}", "gracePeriodSeconds": 0})
