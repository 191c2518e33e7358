"""kopf wiring for Topic: which changes lead to a reconcile, the finalizer, and the two loops
that keep ACLs right (membership events and the periodic pass of `grants`).

Verbs it needs (checked against the chart's RBAC by e2e/test_rbac_audit.py): topics list,
watch, patch; topics/status get (a fresh read before calling a Kafka topic not ours) and
patch; projects list, watch (the one Projects informer of `projects`); leases (the election).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from confluent_kafka.admin import AdminClient

from lulea.core.events import TOPIC_EVENTS, Event, EventConsumer, EventPublisher, EventType
from lulea.core.kube import Kube, connect
from lulea.core.metrics import reconciling
from lulea.core.platform import PlatformSettings, renew_forever, request_identity
from lulea.operators.topic import status as st
from lulea.operators.topic.grants import GrantSync
from lulea.operators.topic.kafka import KafkaRefused, KafkaUnavailable, TopicAdmin
from lulea.operators.topic.projects import Projects
from lulea.operators.topic.quotas import KafkaConfigs, QuotaSync
from lulea.operators.topic.reconcile import Reconciler
from lulea.operators.topic.registry import RegistryUnavailable, SchemaRegistry
from lulea.operators.topic.resync import Resync, ready_at_generation
from lulea.operators.topic.settings import TopicSettings

GROUP, VERSION, PLURAL = "lulea.io", "v1alpha1", "topics"
FINALIZER = "lulea.io/topic-cleanup"
MEMBERSHIP = {EventType.PROJECT_CREATED, EventType.PROJECT_DELETED, EventType.MEMBER_ADDED,
              EventType.MEMBER_REMOVED, EventType.MEMBER_ROLE_CHANGED}
log = logging.getLogger("lulea.operators.topic")
STATE: dict[str, Any] = {}


def _reconciler() -> Reconciler:
    return STATE["reconciler"]  # type: ignore[no-any-return]


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    conf = TopicSettings()
    platform = PlatformSettings()
    settings.peering.standalone = True
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="topic.lulea.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="topic.lulea.io", key="last-handled-configuration")
    settings.posting.enabled = False  # the status conditions say what happened
    settings.queueing.worker_limit = conf.workers
    settings.queueing.error_delays = [1, 2, 5, 10, 30, 60]
    if platform.kafka_bootstrap is None:
        raise kopf.PermanentError("LULEA_KAFKA_BOOTSTRAP is not set: the Topic operator needs Kafka")
    api = await connect(conf.kubeconfig)
    kube = Kube(api)
    identity = await request_identity(platform)  # this operator's certificate, from the CA
    kafka = platform.kafka(identity)
    admin = TopicAdmin(kafka.confluent(), batch=conf.batch_size, linger=conf.batch_linger_seconds)
    registry = None
    if conf.schema_registry_url:
        trust = str(platform.trust_file) if platform.trust_file else None
        registry = SchemaRegistry(conf.schema_registry_url, platform.token, trust,
                                  connections=min(conf.workers, 64))
    events = EventPublisher(kafka, source="lulea/operator-topic", topic=TOPIC_EVENTS)
    await events.start()
    # one informer of Projects for the whole process (no list of every Project per pass); a
    # change of a Project's members or quotas seen by its watch wakes the diff pass and the
    # quota pass by itself (see projects.py for the order against the bus events below)
    projects = Projects(kube)
    grants = GrantSync(kube, admin, conf.resync_seconds, projects)  # subscribes to `projects`
    quotas = None
    if conf.kafka_libs is not None:
        quotas = QuotaSync(projects, KafkaConfigs(kafka, conf.kafka_libs, conf.java), conf.resync_seconds,
                           conf.quota_describe_seconds)  # subscribes to `projects`
    else:
        log.warning("LULEA_TOPIC_KAFKA_LIBS is not set: Projects' Kafka client quotas are not applied")

    async def membership_changed(event: Event) -> None:
        # a wake too, kept beside the watch's: the pass it wakes may see the Projects as they
        # were just before the event, never as the last pass (projects.py says why)
        if event.type in MEMBERSHIP:
            if quotas is not None:
                quotas.poke()
            await grants.poke()

    consumer = EventConsumer(kafka, group_id=conf.consumer_group, handler=membership_changed,
                             types=MEMBERSHIP)

    def renewed(_new: Any) -> None:
        kafka.reload()
        admin.admin = AdminClient(kafka.confluent())  # librdkafka reads the files at creation

    reconciler = Reconciler(kube, admin, registry, grants, events)
    # drift (a config changed or the topic deleted behind the operator's back) is put back by
    # one pass for all Topics, not a kopf timer per Topic (see resync.py)
    resync = Resync(kube, admin, reconciler, conf.resync_seconds, listing=grants)
    STATE.update(api=api, events=events, registry=registry, settings=conf, reconciler=reconciler,
                 tasks=[asyncio.create_task(projects.run()), asyncio.create_task(grants.run()),
                        asyncio.create_task(consumer.run()),
                        asyncio.create_task(resync.run()),
                        *([asyncio.create_task(quotas.run())] if quotas is not None else []),
                        asyncio.create_task(renew_forever(platform, identity, renewed))])


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    for task in STATE.get("tasks", []):
        task.cancel()
    await asyncio.gather(*STATE.get("tasks", []), return_exceptions=True)
    if "events" in STATE:
        await STATE["events"].stop()
    if STATE.get("registry") is not None:
        await STATE["registry"].close()
    if "api" in STATE:
        await STATE["api"].close()


def _retry(stop: st.NotReady) -> kopf.TemporaryError | kopf.PermanentError:
    if stop.retry_after is None:
        return kopf.PermanentError(stop.message)
    return kopf.TemporaryError(stop.message, delay=stop.retry_after)


async def _converge(body: kopf.Body) -> None:
    with reconciling("Topic"):
        try:
            await _reconciler().reconcile(dict(body))
        except st.NotReady as stop:
            if stop.reason == st.GONE:  # deleted meanwhile: the finalizer's, not an error
                return
            raise _retry(stop) from stop


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def topic_changed(body: kopf.Body, **_: Any) -> None:
    await _converge(body)


@kopf.on.resume(GROUP, VERSION, PLURAL)
async def topic_resumed(body: kopf.Body, **_: Any) -> None:
    """After a restart: a Topic Ready at its generation is left to the resync pass, which
    compares all of them with Kafka in one request (a full reconcile of every Topic on every
    restart cost minutes at ten thousand Topics); any other is reconciled now."""
    if ready_at_generation(dict(body)):
        return
    await _converge(body)


@kopf.on.field(GROUP, VERSION, PLURAL, field="spec.shares")
async def shares_changed(body: kopf.Body, old: Any, new: Any, **_: Any) -> None:
    """TopicShared / TopicUnshared (the ACLs follow from the reconcile of the same change)."""
    if old is None and (body.get("status") or {}).get("observedGeneration") is None:
        old = []
    await _reconciler().announce_shares(dict(body), list(old or []), list(new or []))


async def _project_going(kube: Kube, project: str) -> bool:
    items, _ = await kube.list("/apis/lulea.io/v1alpha1/projects", fieldSelector=f"metadata.name={project}")
    return not items or bool(items[0]["metadata"].get("deletionTimestamp"))


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def topic_deleted(body: kopf.Body, retry: int, **_: Any) -> None:
    reconciler, conf = _reconciler(), STATE["settings"]
    try:
        await reconciler.delete(dict(body))
    except (KafkaUnavailable, KafkaRefused, RegistryUnavailable, RuntimeError) as err:
        namespace = body["metadata"]["namespace"]
        if retry >= conf.give_up_deleting_after and await _project_going(reconciler.kube, namespace):
            log.warning("topic %s/%s: project %s is being deleted and Kafka keeps failing (%s); letting "
                        "go, the Kafka topic %s.%s may be left behind", namespace, body["metadata"]["name"],
                        namespace, err, namespace, body["metadata"]["name"])
            return
        delay = min(2 * 2 ** retry, 60)
        stop = st.NotReady("DeletionBlocked", f"deleting the Kafka topic failed ({err}); retrying in "
                           f"{delay}s (annotate {'lulea.io/deletion-policy'}=Orphan to keep the topic "
                           "and let the Topic go)", delay)
        await reconciler.write(dict(body), {}, stop.verdict)
        raise kopf.TemporaryError(stop.message, delay=delay) from err
