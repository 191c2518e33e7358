"""kopf wiring: a Dataset's creation, change, resume and a timer lead to one reconcile; its
deletion (kopf's finalizer) removes its tree unless retained, never holding on forever."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from lulea.core.events import DATASET_EVENTS, EventPublisher, LoggedPublisher, Publishing
from lulea.core.kube import Kube, connect
from lulea.core.platform import PlatformSettings, renew_forever, request_identity
from lulea.operators.dataset.reconcile import GROUP, PLURAL, VERSION, Reconciler
from lulea.operators.dataset.settings import DatasetSettings
from lulea.operators.dataset.storage import Storage

STATE: dict[str, Any] = {}
RESYNC_SECONDS = DatasetSettings().resync_seconds


def _reconciler() -> Reconciler:
    return STATE["reconciler"]  # type: ignore[no-any-return]


@kopf.on.startup()
async def startup(**kw: Any) -> None:
    settings: kopf.OperatorSettings = kw["settings"]
    conf = DatasetSettings()
    settings.peering.standalone = True
    settings.persistence.finalizer = "dataset.lulea.io/data"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="dataset.lulea.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="dataset.lulea.io", key="last-handled-configuration")
    api = await connect(conf.kubeconfig)
    platform = PlatformSettings()
    events: Publishing = LoggedPublisher()
    if conf.publish_events and platform.kafka_bootstrap:
        identity = await request_identity(platform)  # this operator's certificate, from the CA
        kafka = platform.kafka(identity)
        events = EventPublisher(kafka, source="lulea/operator-dataset", topic=DATASET_EVENTS)
        STATE["renewal"] = asyncio.create_task(
            renew_forever(platform, identity, lambda _new: kafka.reload()))
    await events.start()
    storage = Storage(conf.storage_url, platform)
    STATE.update(api=api, storage=storage, events=events,
                 reconciler=Reconciler(Kube(api), storage, conf.give_up_seconds, events))


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    if "renewal" in STATE:
        STATE["renewal"].cancel()
    if "events" in STATE:
        await STATE["events"].stop()
    if "storage" in STATE:
        await STATE["storage"].close()
    if "api" in STATE:
        await STATE["api"].close()


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
async def dataset_changed(body: kopf.Body, **_: Any) -> None:
    await _reconciler().reconcile(dict(body))


@kopf.timer(GROUP, VERSION, PLURAL, interval=RESYNC_SECONDS, idle=RESYNC_SECONDS)
async def resync(body: kopf.Body, **_: Any) -> None:
    """Usage figures and share acceptances (a change of the *target* Project) come in here."""
    await _reconciler().reconcile(dict(body))


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def dataset_deleted(body: kopf.Body, **_: Any) -> None:
    await _reconciler().delete(dict(body))
