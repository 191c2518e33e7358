"""A project is a security boundary: each row is an attack tried with a member's own credentials
(the certificate a job of theirs mounts, their own API-server token) against the platform or
another project, and the refusal expected. After every row, nothing was issued, revoked or
changed: the CA's records, the victims' Secrets and the Projects are as they were.

Attackers: bob, a DataScientist of `own`; alice, its DataOwner. Victim: `victim`, where dave is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException
from pymongo import AsyncMongoClient

from lulea.core.events import DEAD_LETTER_TOPIC, Event, EventType
from lulea.core.events.topics import PLATFORM, platform_topics, topic_of
from lulea.devstack.endpoints import Stack
from lulea.devstack.kafka_revocation import handshake

from .identities import MemberFiles, grant, member_files
from .projects import GROUP, VERSION, create_project, delete_project, get_project, unique, wait_ready

pytestmark = pytest.mark.timeout(600)
SAMPLES: dict[EventType, dict[str, Any]] = {
    EventType.PROJECT_CREATED: {"project": "{victim}", "namespace": "{victim}",
                                "members": [{"user": "mallory", "role": "DataOwner"}]},
    EventType.PROJECT_DELETED: {"project": "{victim}"},
    EventType.MEMBER_ADDED: {"project": "{victim}", "user": "mallory", "role": "DataOwner"},
    EventType.MEMBER_REMOVED: {"project": "{victim}", "user": "dave", "role": "DataOwner"},
    EventType.MEMBER_ROLE_CHANGED: {"project": "{victim}", "user": "dave", "role": "DataScientist",
                                    "previousRole": "DataOwner"},
    EventType.CERTIFICATE_ISSUED: {"project": "{victim}", "user": "mallory", "serial": "0a",
                                   "notAfter": "2027-01-01T00:00:00Z"},
    EventType.CERTIFICATE_REVOKED: {"project": "{victim}", "user": "dave", "serial": "0a",
                                    "reason": "memberRemoved"},
    EventType.JOB_SUBMITTED: {"project": "{victim}", "job": "x", "gpus": 1, "hosts": 0},
    EventType.JOB_PLACED: {"project": "{victim}", "job": "x", "nodes": ["n1"], "attempt": 1},
    EventType.JOB_FINISHED: {"project": "{victim}", "job": "x", "phase": "Failed", "reason": "x",
                             "attempt": 1},
    # what a forged Topic or Dataset event would claim: the victim's data now shared with mallory
    EventType.TOPIC_READY: {"project": "{victim}", "topic": "x", "kafkaTopic": "{victim}.x",
                            "topicId": "nXq1rZ2WQ7mV0aLh4r3b8g", "partitions": 1, "schemaId": 1,
                            "generation": 1},
    EventType.TOPIC_SHARED: {"project": "{victim}", "topic": "x", "kafkaTopic": "{victim}.x",
                             "sharedWith": "mallory", "access": "ReadWrite"},
    EventType.TOPIC_UNSHARED: {"project": "{victim}", "topic": "x", "kafkaTopic": "{victim}.x",
                               "sharedWith": "dave"},
    EventType.TOPIC_DELETED: {"project": "{victim}", "topic": "x", "kafkaTopic": "{victim}.x",
                              "orphaned": False},
    EventType.DATASET_CREATED: {"project": "{victim}", "dataset": "x", "path": "/Projects/{victim}/x"},
    EventType.DATASET_SHARED: {"project": "{victim}", "dataset": "x", "target": "mallory",
                               "access": "ReadWrite"},
    EventType.DATASET_SHARE_ACCEPTED: {"project": "{victim}", "dataset": "x", "target": "mallory",
                                       "access": "ReadWrite"},
    EventType.DATASET_UNSHARED: {"project": "{victim}", "dataset": "x", "target": "dave"},
    EventType.DATASET_DELETED: {"project": "{victim}", "dataset": "x", "retained": False},
}
EVENT_TOPICS = [*platform_topics(PLATFORM), "lulea.events"]
BASELINE: dict[str, dict[str, Any]] = {}  # the world as the attacks found it


@dataclass(frozen=True)
class World:
    stack: Stack
    own: str
    victim: str
    bob: MemberFiles  # a DataScientist of `own`: what his jobs mount
    dave: MemberFiles  # the victim's member


@pytest.fixture(scope="module")
async def world(admin_api: k8s.ApiClient, stack: Stack, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[World]:
    own, victim = unique("own"), unique("victim")
    await create_project(admin_api, own, [("alice", "DataOwner"), ("bob", "DataScientist")],
                         quotas={"gpus": 8})
    await create_project(admin_api, victim, [("dave", "DataOwner")])
    try:
        await wait_ready(admin_api, own)
        await wait_ready(admin_api, victim)
        where = tmp_path_factory.mktemp("attackers")
        bob = await member_files(admin_api, own, "bob", where)
        dave = await member_files(admin_api, victim, "dave", where)
        # what the Topic operator will grant: bob may use consumer groups of his project
        grant(stack.kafka_admin, f"User:{own}__bob", group=f"{own}.")
        world = World(stack, own, victim, bob, dave)
        BASELINE[own] = await snapshot(admin_api, world)
        yield world
    finally:
        await delete_project(admin_api, own)
        await delete_project(admin_api, victim)


async def snapshot(api: k8s.ApiClient, world: World) -> dict[str, Any]:
    """What an attack must leave as it was: certificates, the victim's Secrets, both Projects."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(world.stack.mongo_uri)
    try:
        certs = sorted([(d["_id"], d["status"]) async for d in mongo["lulea_ca"]["certificates"].find(
            {"project": {"$in": [world.own, world.victim]}})])
    finally:
        await mongo.close()
    secrets = await k8s.CoreV1Api(api).list_namespaced_secret(world.victim)
    projects = [await get_project(api, name) for name in (world.own, world.victim)]
    return {"certificates": certs,
            "secrets": sorted((s.metadata.name, s.metadata.resource_version) for s in secrets.items),
            "specs": [json.dumps(p["spec"] if p else None, sort_keys=True) for p in projects],
            "finalizers": [sorted(p["metadata"].get("finalizers") or []) if p else None for p in projects]}


@contextlib.asynccontextmanager
async def nothing_changes(api: k8s.ApiClient, world: World) -> AsyncIterator[None]:
    """The row changed nothing right away; the last test checks, after a pause, that nothing
    changed later either (an accepted forgery would act within a second or two)."""
    before = await snapshot(api, world)
    yield
    assert await snapshot(api, world) == before


def forged(kind: EventType, victim: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    data = json.loads(json.dumps(SAMPLES[kind]).replace("{victim}", victim))
    event = Event(id=f"forged-{kind.value}-{victim}", type=kind, source="lulea/operator-project",
                  subject=victim, data=data)
    return event.value(), event.headers()


def produce_error(conf: dict[str, Any], topic: str, value: bytes, headers: list[tuple[str, bytes]]
                  ) -> KafkaError | None:
    producer = Producer({**conf, "message.timeout.ms": 10000, "socket.connection.setup.timeout.ms": 5000})
    errors: list[KafkaError] = []
    producer.produce(topic, value, headers=headers, on_delivery=lambda e, _m: errors.append(e) if e else None)
    producer.flush(15)
    return errors[0] if errors else None


@pytest.mark.parametrize("kind", list(EventType))
@pytest.mark.parametrize("topic", EVENT_TOPICS)
async def test_a_member_cannot_forge_a_platform_event(world: World, admin_api: k8s.ApiClient,
                                                      kind: EventType, topic: str) -> None:
    """Each event type on each events topic, with bob's certificate, on the member listener."""
    value, headers = forged(kind, world.victim)
    async with nothing_changes(admin_api, world):
        error = await asyncio.to_thread(produce_error, world.bob.kafka(world.stack).confluent(),
                                        topic, value, headers)
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (topic, error)


def test_a_member_certificate_is_refused_at_the_platform_listener_handshake(world: World) -> None:
    port = int(world.stack.kafka_bootstrap.rsplit(":", 1)[1])
    assert not handshake(port, world.bob.cert, world.bob.key, world.bob.ca)
    assert handshake(int(world.stack.kafka_member_bootstrap.rsplit(":", 1)[1]),
                     world.bob.cert, world.bob.key, world.bob.ca)  # his own door opens


async def test_a_member_cannot_forge_through_the_platform_listener(world: World,
                                                                   admin_api: k8s.ApiClient) -> None:
    value, headers = forged(EventType.MEMBER_ADDED, world.victim)
    conf = world.bob.on(world.stack.kafka_bootstrap).confluent()
    async with nothing_changes(admin_api, world):
        error = await asyncio.to_thread(produce_error, conf, topic_of(EventType.MEMBER_ADDED), value, headers)
    assert error is not None  # the handshake fails: the message never leaves bob's producer


@pytest.mark.parametrize("topic", [*EVENT_TOPICS, DEAD_LETTER_TOPIC])
def test_a_member_cannot_read_the_platform_topics(world: World, topic: str) -> None:
    consumer = Consumer(world.bob.kafka(world.stack).confluent(**{
        "group.id": f"{world.own}.attack", "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    try:
        seen = []
        for _ in range(20):
            message = consumer.poll(0.5)
            if message is not None:
                seen.append(message.error().code() if message.error() else "a message")
                if message.error() is None or message.error().code() in (
                        KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                    break
    finally:
        consumer.close()
    assert seen and seen[-1] == KafkaError.TOPIC_AUTHORIZATION_FAILED, seen


@pytest.mark.parametrize("patch, words", [
    ({"spec": {"quotas": {"gpus": 10000}}}, "spec.quotas of project"),
    ({"spec": {"quotas": None}}, "spec.quotas of project"),
    ({"metadata": {"finalizers": None}}, "metadata.finalizers of project"),
    ({"metadata": {"annotations": {"project.lulea.io/last-handled-configuration": "{}"}}},
     "belong to the platform"),
    ({"metadata": {"labels": {"lulea.io/tier": "gold"}}}, "belong to the platform"),
])
async def test_a_data_owner_cannot_change_what_the_platform_sets(
        world: World, user_api: Any, admin_api: k8s.ApiClient, patch: dict[str, Any], words: str) -> None:
    alice = k8s.CustomObjectsApi(user_api("alice"))
    async with nothing_changes(admin_api, world):
        with pytest.raises(ApiException) as refused:
            await alice.patch_cluster_custom_object(GROUP, VERSION, "projects", world.own, patch,
                                                    _content_type="application/merge-patch+json")
    assert refused.value.status == 403 and words in str(refused.value.body)


@pytest.mark.parametrize("patch", [
    {"spec": {"members": [{"user": "alice", "role": "DataOwner"}, {"user": "bob", "role": "DataOwner"}]}},
    {"spec": {"acceptedShares": ["victim-x/*"]}},  # accepting shares is the owners' handshake
    {"spec": {"description": "taken over"}},
    {"metadata": {"labels": {"team": "bob"}}},
])
async def test_a_data_scientist_cannot_change_his_project(
        world: World, user_api: Any, admin_api: k8s.ApiClient, patch: dict[str, Any]) -> None:
    """Every member holds `patch` on the Project through its one ClusterRole; the admission
    policy lets only its DataOwners change it, judged on the stored object."""
    bob = k8s.CustomObjectsApi(user_api("bob"))
    async with nothing_changes(admin_api, world):
        with pytest.raises(ApiException) as refused:
            await bob.patch_cluster_custom_object(GROUP, VERSION, "projects", world.own, patch,
                                                  _content_type="application/merge-patch+json")
    assert refused.value.status == 403 and "bob is not one of them" in str(refused.value.body)


async def test_nobody_reads_or_patches_a_project_he_is_not_in(world: World, user_api: Any) -> None:
    """dave is in another project: RBAC refuses him before admission sees anything, with the
    same 403 for a project that exists and one that does not (nothing to probe)."""
    dave = k8s.CustomObjectsApi(user_api("dave"))
    answers = []
    for name in (world.own, unique("nosuch")):
        for call in (lambda n=name: dave.get_cluster_custom_object(GROUP, VERSION, "projects", n),
                     lambda n=name: dave.patch_cluster_custom_object(
                         GROUP, VERSION, "projects", n, {"spec": {"description": "x"}},
                         _content_type="application/merge-patch+json")):
            with pytest.raises(ApiException) as refused:
                await call()
            answers.append(refused.value.status)
    assert answers == [403, 403, 403, 403]


async def test_a_data_owner_may_still_change_members_and_description(world: World, user_api: Any) -> None:
    alice = k8s.CustomObjectsApi(user_api("alice"))
    await alice.patch_cluster_custom_object(GROUP, VERSION, "projects", world.own,
                                            {"spec": {"description": "our project"}},
                                            _content_type="application/merge-patch+json")


@pytest.mark.parametrize("who, namespace, secret", [
    ("bob", "own", "lulea-cert-alice"),  # another member of his own project
    ("bob", "own", "lulea-cert-bob"),  # even his own: only his jobs mount it
    ("alice", "own", "lulea-cert-bob"),  # the DataOwner neither
    ("bob", "victim", "lulea-cert-dave"),  # another project's
])
async def test_nobody_reads_a_certificate_secret(world: World, user_api: Any, who: str, namespace: str,
                                                 secret: str) -> None:
    ns = world.own if namespace == "own" else world.victim
    with pytest.raises(ApiException) as refused:
        await k8s.CoreV1Api(user_api(who)).read_namespaced_secret(secret, ns)
    assert refused.value.status == 403


def csr(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("target", ["victim__bob", "own__alice", "victim__dave"])
async def test_a_member_cannot_have_a_csr_signed_for_another_project_or_user(
        world: World, admin_api: k8s.ApiClient, target: str) -> None:
    """With his API-server token (no `lulea` audience: the CA takes it for a person's own member
    CSR, as `lulea login` sends it) the CA refuses the subject (403); with his certificate (no
    token at all) 401; nothing signed either way."""
    project, user = target.split("__")
    project = world.own if project == "own" else world.victim
    body = {"csr": csr(f"{project}__{user}"), "profile": "member", "project": project}
    bobs_token = {"Authorization": f"Bearer {world.stack.tokens['bob']}"}
    async with nothing_changes(admin_api, world), \
            httpx.AsyncClient(base_url=world.stack.ca_url, verify=world.bob.tls(world.stack)) as ca:
        with_token = await ca.post("/v1/certificates/sign", json=body, headers=bobs_token)
        with_cert = await ca.post("/v1/certificates/sign", json=body)
    assert with_token.status_code == 403 and with_cert.status_code == 401


async def test_a_member_cannot_mint_a_token_for_a_service_account(world: World, user_api: Any) -> None:
    core = k8s.CoreV1Api(user_api("bob"))
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(audiences=["lulea"]))
    for namespace, account in ((world.own, "default"), ("lulea-system", "lulea-ca")):
        with pytest.raises(ApiException) as refused:
            await core.create_namespaced_service_account_token(account, namespace, request)
        assert refused.value.status == 403


@pytest.mark.parametrize("service", ["ca", "schema-registry"])
@pytest.mark.parametrize("who", ["bob", "admin"])
async def test_an_api_server_token_is_refused_by_every_service(world: World, service: str, who: str) -> None:
    """A token the API server accepts is not bound to `lulea`: no Lulea service takes it (even
    the cluster admin's). (Placement serves no API, only its probes and metrics.)"""
    url = {"ca": f"{world.stack.ca_url}/v1/certificates/0a/status",
           "schema-registry": f"{world.stack.schema_registry_url}/subjects"}[service]
    verify = ssl.create_default_context(cafile=str(world.stack.trust_file))
    async with httpx.AsyncClient(verify=verify) as http:
        answer = await http.get(url, headers={"Authorization": f"Bearer {world.stack.tokens[who]}"})
    assert answer.status_code == 401


async def test_a_forged_client_certificate_header_is_believed_from_nobody(world: World) -> None:
    xfcc = f'Hash=x;Subject="CN={world.victim}__dave,O={world.victim}"'
    verify = ssl.create_default_context(cafile=str(world.stack.trust_file))
    async with httpx.AsyncClient(base_url=world.stack.schema_registry_url, verify=verify) as http:
        answer = await http.get("/subjects", headers={"X-Forwarded-Client-Cert": xfcc})
    assert answer.status_code == 401


async def test_another_projects_subjects_are_not_found(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.stack.schema_registry_url,
                                 verify=world.dave.tls(world.stack)) as as_dave:
        made = await as_dave.post(f"/subjects/{world.victim}.secret-value/versions",
                                  json={"schema": json.dumps({"type": "record", "name": "S", "fields": []})})
        assert made.status_code == 200, made.text
    async with httpx.AsyncClient(base_url=world.stack.schema_registry_url,
                                 verify=world.bob.tls(world.stack)) as as_bob:
        assert (await as_bob.get(f"/subjects/{world.victim}.secret-value/versions")).status_code == 404
        assert f"{world.victim}.secret-value" not in (await as_bob.get("/subjects")).json()
        schema_id = made.json()["id"]
        assert (await as_bob.get(f"/schemas/ids/{schema_id}")).status_code == 404


async def test_a_member_cannot_submit_a_job_into_another_project(world: World, user_api: Any) -> None:
    job = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "GpuJob", "metadata": {"name": "steal"},
           "spec": {"image": "x", "gpus": 1}}
    with pytest.raises(ApiException) as refused:
        await k8s.CustomObjectsApi(user_api("bob")).create_namespaced_custom_object(
            GROUP, VERSION, world.victim, "gpujobs", job)
    assert refused.value.status == 403


async def test_after_every_attack_nothing_was_issued_revoked_or_changed(
        world: World, admin_api: k8s.ApiClient) -> None:
    await asyncio.sleep(3)
    now = await snapshot(admin_api, world)
    before = BASELINE[world.own]
    # the one change an attacker's project saw is the description alice may change
    assert {k: v for k, v in now.items() if k != "specs"} == {k: v for k, v in before.items() if k != "specs"}
    assert now["specs"][1] == before["specs"][1]  # the victim's Project
    assert json.loads(now["specs"][0])["members"] == json.loads(before["specs"][0])["members"]


def test_rows_cover_every_event_type_and_topic() -> None:
    assert set(SAMPLES) == set(EventType)
    assert {t for t in EVENT_TOPICS if t.startswith("lulea.events.")} >= {
        "lulea.events.project", "lulea.events.ca", "lulea.events.gpujob"}

