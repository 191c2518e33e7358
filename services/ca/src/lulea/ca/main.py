"""The CA service: HTTP API, event consumer, rotation and CRL loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import uvicorn
from fastapi import FastAPI

from lulea.ca.api.app import create_app
from lulea.ca.api.deps import CaState
from lulea.ca.domain.crl import CurrentCrl
from lulea.ca.domain.handlers import HANDLED, handle
from lulea.ca.domain.hierarchy import from_pem, load_files
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.settings import Settings
from lulea.ca.store import keysecrets
from lulea.ca.store.keyfiles import KeyFiles
from lulea.ca.store.mongo import MongoRecords
from lulea.ca.store.secrets import KubernetesSecrets
from lulea.core.auth.tokenreview import review_token
from lulea.core.events import EventConsumer, EventPublisher
from lulea.core.kube import connect
from lulea.core.logs import setup_json_logging

log = logging.getLogger("lulea.ca")


async def every(seconds: float, step: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `step` periodically; a failing step is logged and retried next round."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying in %.0fs", name, seconds)
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    api = await connect(settings.kubeconfig)
    if settings.key_dir is not None:
        hierarchy = load_files(KeyFiles(settings.key_dir))
    else:
        hierarchy = from_pem(*await keysecrets.read(
            api, settings.key_namespace, settings.root_secret, settings.intermediate_secret))
    records = MongoRecords.connect(settings.mongo_uri, settings.mongo_database)
    await records.ensure_indexes()
    publisher = EventPublisher(settings.kafka_bootstrap, source="lulea/ca",
                               topic=settings.events_topic)
    await publisher.start()
    crl = CurrentCrl(hierarchy.intermediate, records, validity=settings.crl_validity)
    members = MemberCertificates(
        hierarchy,
        records,
        KubernetesSecrets(api),
        publisher,
        lifetime=settings.lifetime,
        crl_url=settings.crl_url,
        on_revoked=crl.refresh,
    )
    app.state.ca = CaState(
        hierarchy=hierarchy,
        records=records,
        crl=crl,
        members=members,
        authenticate=partial(review_token, api, audiences=settings.token_audiences),
        platform_namespaces=settings.platform_namespaces,
        ready=records.ping,
    )
    await crl.refresh()
    tasks = [
        asyncio.create_task(every(settings.rotation_interval_seconds, members.rotate_due, "rotation")),
        asyncio.create_task(every(settings.crl_validity.total_seconds() / 6, crl.current, "crl")),
    ]
    if settings.consume_events:
        consumer = EventConsumer(
            settings.kafka_bootstrap,
            group_id=settings.consumer_group,
            handler=partial(handle, certificates=members),
            types=set(HANDLED),
            topic=settings.events_topic,
        )
        tasks.append(asyncio.create_task(consumer.run()))
    log.info("CA ready: intermediate %s", hierarchy.intermediate.cert.subject.rfc4514_string())
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await publisher.stop()
        await api.close()


def build(settings: Settings) -> FastAPI:
    return create_app(lifespan=partial(lifespan, settings=settings))


def run() -> None:
    settings = Settings()  # fails here on bad or missing values
    setup_json_logging(logging.INFO)
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_config=None)
