"""The CA service: the TLS API, the public trust material, and the loops that keep member
certificates equal to project membership.

Whom to certify comes from the Project objects in the API server (an informer); events on
`lulea.events.project`, the informer's own changes, rotation and a periodic resync of every
project only put a project's name on a work queue, and the worker converges that project.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import uvicorn

from lulea.ca.api.app import create_app, create_public_app
from lulea.ca.api.deps import CaState
from lulea.ca.domain.convergence import Convergence
from lulea.ca.domain.crl import CurrentCrl
from lulea.ca.domain.handlers import TRIGGERS
from lulea.ca.domain.hierarchy import Hierarchy, from_pem, load_files
from lulea.ca.domain.identity import own_identity
from lulea.ca.domain.membership import MemberCertificates
from lulea.ca.settings import Settings
from lulea.ca.store import keysecrets
from lulea.ca.store.keyfiles import KeyFiles
from lulea.ca.store.mongo import MongoRecords
from lulea.ca.store.secrets import KubernetesSecrets
from lulea.core.auth.tokenreview import review_token
from lulea.core.events import CA_EVENTS, EventConsumer, EventPublisher
from lulea.core.kube import Kube, connect
from lulea.core.logs import setup_json_logging
from lulea.core.membership import Memberships
from lulea.core.platform import Identity, PlatformSettings
from lulea.core.tls import reload_certificate, tls_server
from lulea.core.workqueue import WorkQueue

log = logging.getLogger("lulea.ca")


async def every(seconds: float, step: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `step` periodically; a failing step is logged and retried next round."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying in %.0fs", name, seconds)
        await asyncio.sleep(seconds)


async def load_hierarchy(settings: Settings, api: object) -> Hierarchy:
    if settings.key_dir is not None:
        return load_files(KeyFiles(settings.key_dir))
    return from_pem(*await keysecrets.read(api, settings.key_namespace, settings.root_secret,  # type: ignore[arg-type]
                                           settings.intermediate_secret))


async def serve(settings: Settings, platform: PlatformSettings) -> None:
    api = await connect(settings.kubeconfig)
    hierarchy = await load_hierarchy(settings, api)
    if platform.identity_dir is None or platform.kafka_bootstrap is None:
        raise ValueError("the CA needs LULEA_IDENTITY_DIR and LULEA_KAFKA_BOOTSTRAP")
    trust = Path(platform.trust_file or platform.identity_dir / "ca.crt")
    name, directory = platform.service_account or "lulea-ca", platform.identity_dir

    def identity_now() -> Identity:
        return own_identity(hierarchy, name, platform.certificate_names, directory, trust)

    identity = identity_now()
    kafka = platform.kafka(identity)
    records = MongoRecords.connect(settings.mongo_uri, settings.mongo_database)
    await records.ensure_indexes()
    publisher = EventPublisher(kafka, source="lulea/ca", topic=CA_EVENTS)
    await publisher.start()
    crl = CurrentCrl(hierarchy.intermediate, records, validity=settings.crl_validity)
    members = MemberCertificates(hierarchy, records, KubernetesSecrets(api), publisher,
                                 lifetime=settings.lifetime, crl_url=settings.crl_url,
                                 on_revoked=crl.refresh)
    queue = WorkQueue(base_delay=0.5, max_delay=10.0)
    memberships = Memberships(Kube(api), changed=queue.add)
    work = Convergence(memberships, members, queue)

    async def ready() -> None:
        await records.ping()
        if not memberships.synced:
            raise RuntimeError("the Project informer has not listed yet")

    state = CaState(hierarchy=hierarchy, records=records, crl=crl, members=members,
                    authenticate=partial(review_token, api, audiences=settings.token_audiences),
                    platform_namespaces=settings.platform_namespaces, role_of=memberships.role,
                    ready=ready, member_csr_lifetime=settings.member_csr_lifetime,
                    # no audiences: the API server's own, which people's tokens carry
                    authenticate_person=partial(review_token, api) if settings.people_may_login else None)
    await crl.refresh()
    tasks = [
        asyncio.create_task(memberships.run()),
        asyncio.create_task(work.run()),
        asyncio.create_task(every(settings.resync_seconds, work.resync, "resync")),
        asyncio.create_task(every(settings.rotation_interval_seconds, work.rotate, "rotation")),
        asyncio.create_task(every(settings.crl_validity.total_seconds() / 6, crl.current, "crl")),
    ]
    if settings.consume_events:
        consumer = EventConsumer(kafka, group_id=settings.consumer_group, handler=work.triggered,
                                 types=set(TRIGGERS))
        tasks.append(asyncio.create_task(consumer.run()))
    main = tls_server(create_app(state), settings.host, settings.port, identity, access_log=False)

    async def renew_own() -> None:
        """At two thirds of its life the CA signs itself a new certificate, for new handshakes
        of its API and its next Kafka connections (open ones keep theirs)."""
        current = identity
        while True:
            await asyncio.sleep(max((current.renew_at - dt.datetime.now(dt.UTC)).total_seconds(), 1))
            current = identity_now()
            reload_certificate(main, current)
            kafka.reload()
            log.info("the CA's own certificate renewed until %s", current.not_after.isoformat())

    tasks.append(asyncio.create_task(renew_own()))
    public = uvicorn.Server(uvicorn.Config(create_public_app(state), host=settings.host,
                                           port=settings.public_port, log_config=None, access_log=False))
    log.info("CA ready: intermediate %s", hierarchy.intermediate.cert.subject.rfc4514_string())
    try:
        await serve_together(main, public)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await publisher.stop()
        await api.close()


async def serve_together(main: uvicorn.Server, *others: uvicorn.Server) -> None:
    """Run the servers until the main one stops (on SIGTERM); then stop the others."""
    side = [asyncio.create_task(o.serve()) for o in others]
    try:
        await main.serve()
    finally:
        for o in others:
            o.should_exit = True
        await asyncio.gather(*side, return_exceptions=True)


def run() -> None:
    settings = Settings()  # fails here on bad or missing values
    platform = PlatformSettings()
    setup_json_logging(logging.INFO)
    asyncio.run(serve(settings, platform))
