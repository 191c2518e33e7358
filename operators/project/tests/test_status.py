"""Every way a Project reconcile ends, and what its Ready condition then tells a person: a table
driven against an in-memory API server and event bus."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.core.crds.project import Project
from lulea.operators.project import plan, reconcile
from lulea.operators.project.status import NotReady, Verdict, invalid

Obj = dict[str, Any]
UID = "uid-p1"


def project(members: list[tuple[str, str]] | None = None) -> Project:
    members = members or [("alice", "DataOwner"), ("bob", "DataScientist")]
    return Project.model_validate({
        "apiVersion": "lulea.io/v1alpha1", "kind": "Project",
        "metadata": {"name": "p1", "uid": UID, "generation": 3},
        "spec": {"members": [{"user": u, "role": r} for u, r in members]}})


class FakeCluster:
    """Objects by (kind, namespace, name); server-side apply stores the manifest."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], Obj] = {}
        self.refuse: ApiException | None = None
        self.drop_subject: str | None = None  # an admission webhook that strips a member
        self.created: list[tuple[str, str]] = []

    async def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found else None

    async def list(self, kind: str, namespace: str | None = None,
                   label_selector: str | None = None) -> list[Obj]:
        return [copy.deepcopy(o) for (k, ns, _), o in self.objects.items() if k == kind and ns == namespace]

    async def apply(self, manifest: Obj) -> Obj:
        if self.refuse is not None:
            raise self.refuse
        manifest = copy.deepcopy(manifest)
        if self.drop_subject and manifest["kind"] == "RoleBinding":
            kept = [s for s in manifest.get("subjects") or [] if s["name"] != self.drop_subject]
            manifest["subjects"] = kept
        meta = manifest["metadata"]
        self.objects[manifest["kind"], meta.get("namespace"), meta["name"]] = manifest
        return manifest

    async def create(self, manifest: Obj) -> Obj:
        meta = manifest["metadata"]
        if (manifest["kind"], meta.get("namespace"), meta["name"]) not in self.objects:
            self.created.append((manifest["kind"], meta["name"]))
        return await self.apply(manifest)

    async def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        return self.objects.pop((kind, namespace, name), None) is not None


class FakeEvents:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.published: list[Any] = []

    async def publish_many(self, publications: list[Any]) -> None:
        if self.down:
            raise ConnectionError("the broker is unreachable")
        self.published += publications


def foreign(cluster: FakeCluster) -> None:
    cluster.objects["Namespace", None, "p1"] = {"metadata": {"name": "p1", "ownerReferences": []}}


def terminating(cluster: FakeCluster) -> None:
    cluster.objects["Namespace", None, "p1"] = {"metadata": {
        "name": "p1", "ownerReferences": [{"uid": "uid-of-an-old-project"}],
        "deletionTimestamp": "2026-01-01T00:00:00Z"}}


def refused(cluster: FakeCluster) -> None:
    cluster.refuse = ApiException(status=403, reason="Forbidden")
    cluster.refuse.body = '{"message":"clusterroles is forbidden: nope"}'


def webhook_drops_bob(cluster: FakeCluster) -> None:
    cluster.drop_subject = "bob"


Setup = Callable[[FakeCluster], None]
CASES: list[tuple[str, Setup | None, bool, str, tuple[str, ...], float | None]] = [
    # name, cluster setup, Kafka down, reason, words of the message, retry after
    ("ready", None, False, "Reconciled",
     ("namespace p1 ready", "alice (DataOwner)", "bob (DataScientist)"), None),
    ("foreign namespace", foreign, False, "NamespaceConflict",
     ("does not belong to this Project", "delete that namespace or choose another project name"), 60),
    ("old namespace still going", terminating, False, "NamespaceTerminating",
     ("still being deleted", "set up once it is gone"), 5),
    ("Kafka down", None, True, "EventBusUnavailable",
     ("Kafka did not take the membership events", "nothing was changed", "once Kafka answers"), 10),
    ("API server refuses", refused, False, "ApplyRefused",
     ("refused part of the tenant (403)", "clusterroles is forbidden: nope", "operator's permissions"), 30),
    ("a member not bound", webhook_drops_bob, False, "MembersNotBound",
     ("members not bound yet: bob (DataScientist)", "the operator retries"), None),
]


@pytest.mark.parametrize(("setup", "down", "reason", "words", "retry"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_each_way_a_reconcile_ends_says_why_and_what_to_do(
        setup: Setup | None, down: bool, reason: str, words: tuple[str, ...], retry: float | None) -> None:
    cluster, events = FakeCluster(), FakeEvents(down)
    if setup is not None:
        setup(cluster)
    try:
        fields, verdict = await reconcile.reconcile(
            project(), {}, cluster, events, (9094,))  # type: ignore[arg-type]
        after: float | None = None
        assert fields["observedGeneration"] == 3
    except NotReady as stop:
        verdict, after = stop.verdict, stop.retry_after
    assert verdict.reason == reason and verdict.ok is (reason == "Reconciled")
    for word in words:
        assert word in verdict.message, (word, verdict.message)
    assert after == retry
    if down:  # nothing changes before the events are out
        assert not cluster.objects


async def test_a_deletion_that_waits_says_for_what_and_backs_off() -> None:
    cluster = FakeCluster()
    await reconcile.reconcile(project(), {}, cluster, FakeEvents(), ())  # type: ignore[arg-type]
    ns = cluster.objects["Namespace", None, "p1"]
    ns["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    ns["status"] = {"conditions": [{"type": "NamespaceContentRemaining", "status": "True",
                                    "message": "Some resources are remaining: pods. has 2 instances"}]}
    delays = []
    for retry in range(6):
        with pytest.raises(NotReady) as waiting:
            await reconcile.delete(project(), cluster, FakeEvents(), retry)  # type: ignore[arg-type]
        assert waiting.value.reason == "Deleting"
        assert "waiting for namespace p1 to be deleted: Some resources are remaining: pods" \
            in waiting.value.message
        delays.append(waiting.value.retry_after)
    assert delays == [2, 4, 8, 16, 30, 30]


async def test_a_deletion_with_kafka_down_waits_for_it() -> None:
    with pytest.raises(NotReady) as waiting:
        await reconcile.delete(project(), FakeCluster(), FakeEvents(down=True), 0)  # type: ignore[arg-type]
    assert waiting.value.reason == "EventBusUnavailable"


def test_a_spec_that_does_not_match_the_schema_is_a_permanent_condition() -> None:
    stop = invalid("spec.members: at least one member")
    assert stop.verdict == Verdict(False, "InvalidSpec", stop.message)
    assert "fix its spec" in stop.message and stop.retry_after is None


async def test_a_repair_re_announces_the_membership_once_per_generation() -> None:
    cluster, events = FakeCluster(), FakeEvents()
    await reconcile.reconcile(project(), {}, cluster, events, ())  # type: ignore[arg-type]
    first = [p.type.value for p in events.published]
    assert first == ["ProjectCreated", "MemberAdded", "MemberAdded"]
    for _ in range(2):
        await reconcile.reconcile(project(), {"observedGeneration": 3}, cluster, events, (),  # type: ignore[arg-type]
                                  announce=True)
    again = events.published[len(first):]
    assert [p.type.value for p in again] == ["ProjectCreated", "ProjectCreated"]
    assert len({p.id_parts for p in again}) == 1  # the same id: consumers drop the second
    assert plan.desired_members(project()) == {"alice": "DataOwner", "bob": "DataScientist"}


async def test_a_new_project_is_created_and_a_second_pass_applies() -> None:
    cluster, events = FakeCluster(), FakeEvents()
    await reconcile.reconcile(project(), {}, cluster, events, ())  # type: ignore[arg-type]
    kinds = sorted(k for k, _ in cluster.created)
    # everything but the quota (none in this spec) is created on a new namespace
    assert kinds == sorted(["Namespace", "ClusterRole", "RoleBinding", "RoleBinding",
                            "RoleBinding", "ClusterRoleBinding", "NetworkPolicy"])
    cluster.created.clear()
    await reconcile.reconcile(project(), {"observedGeneration": 3}, cluster, events, ())  # type: ignore[arg-type]
    assert cluster.created == []  # the namespace exists: applied, not created
