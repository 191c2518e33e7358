"""The reconcile's steps against an in-memory API server: a crash between steps never leaves two
gangs, and an API error the operator cannot get past becomes a condition on the job."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lulea.core import gangs
from lulea.core.kube import KubeError
from lulea.operators.gpujob.gang import PodEnvironment
from lulea.operators.gpujob.reconcile import Reconciler

Obj = dict[str, Any]
JOB_PATH = "/apis/lulea.io/v1alpha1/namespaces/p1/gpujobs/train"


class Crash(Exception):
    """The operator process dies here (SIGKILL between two API calls)."""


class FakeKube:
    """Just enough of the API server: one GpuJob, pods by label, status patches."""

    def __init__(self, job: Obj) -> None:
        self.job = job
        self.pods: dict[str, Obj] = {}
        self.fail_pod_create: KubeError | None = None
        self.crash_after_pods: int | None = None  # die after this many pod creations
        self.created = 0
        self.services: dict[str, Obj] = {}

    async def request(self, method: str, path: str, body: Any = None, **_: Any) -> Obj:
        if path == JOB_PATH and method == "GET":
            return copy.deepcopy(self.job)
        if path.endswith("/pods") and method == "POST":
            if self.fail_pod_create is not None:
                raise self.fail_pod_create
            if self.crash_after_pods is not None and self.created >= self.crash_after_pods:
                raise Crash
            name = body["metadata"]["name"]
            if name in self.pods:
                raise KubeError(409, '{"message": "already exists"}')
            self.pods[name] = copy.deepcopy(body)
            self.created += 1
            return body
        if path.endswith("/services") and method == "POST":
            if body["metadata"]["name"] in self.services:
                raise KubeError(409, '{"message": "already exists"}')
            self.services[body["metadata"]["name"]] = copy.deepcopy(body)
            return body
        if "/pods/" in path and method == "DELETE":
            if self.pods.pop(path.rsplit("/", 1)[1], None) is None:
                raise KubeError(404, '{"message": "not found"}')
            return {}
        raise AssertionError(f"unexpected {method} {path}")

    async def list(self, path: str, **query: Any) -> tuple[list[Obj], str]:
        gang = query["labelSelector"].split("=", 1)[1]
        return [copy.deepcopy(p) for p in self.pods.values()
                if p["metadata"]["labels"][gangs.GANG] == gang], "1"

    async def patch(self, path: str, patch: Obj, kind: str = "merge") -> Obj:
        assert path == f"{JOB_PATH}/status"
        self.job["status"] = {**(self.job.get("status") or {}), **patch["status"]}
        return self.job

    def gangs_alive(self) -> set[str]:
        return {p["metadata"]["labels"][gangs.GANG] for p in self.pods.values()}


class NoEvents:
    async def publish(self, *_: Any, **__: Any) -> None:
        return None


def job(**status: Any) -> Obj:
    return {"apiVersion": "lulea.io/v1alpha1", "kind": "GpuJob",
            "metadata": {"name": "train", "namespace": "p1", "uid": "u1", "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"image": "python", "gpus": 4, "hosts": 2, "maxRetries": 1},
            "status": status}


@pytest.fixture(autouse=True)
def _no_kube_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kopf.event", lambda *a, **k: None)


def reconciler(kube: FakeKube) -> Reconciler:
    return Reconciler(kube, NoEvents(), PodEnvironment())  # type: ignore[arg-type]


async def test_a_crash_while_creating_the_retry_gang_never_leaves_two_gangs() -> None:
    kube = FakeKube(job(phase="Running", attempts=1))
    rank0 = {"metadata": {"name": "train-a1-0", "labels": {gangs.GANG: "train-a1"}},
             "spec": {"nodeName": "n1"}, "status": {"phase": "Failed"}}
    rank1 = {"metadata": {"name": "train-a1-1", "labels": {gangs.GANG: "train-a1"}},
             "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}}
    kube.pods = {"train-a1-0": rank0, "train-a1-1": rank1}
    kube.crash_after_pods = 1  # the retry's first pod is created, then the process dies
    with pytest.raises(Crash):
        await reconciler(kube).reconcile("p1", "train")
    del kube.pods["train-a1-0"]  # meanwhile the failed pod of the old gang is collected
    kube.crash_after_pods = None
    await reconciler(kube).reconcile("p1", "train")  # the restarted operator
    assert kube.gangs_alive() == {"train-a2"}
    assert kube.job["status"]["attempts"] == 2 and len(kube.pods) == 2


async def test_a_crash_before_the_first_gang_is_recorded_creates_it_once() -> None:
    kube = FakeKube(job())
    kube.crash_after_pods = 1
    with pytest.raises(Crash):
        await reconciler(kube).reconcile("p1", "train")
    kube.crash_after_pods = None
    await reconciler(kube).reconcile("p1", "train")
    assert kube.gangs_alive() == {"train-a1"} and len(kube.pods) == 2


@pytest.mark.parametrize("status, words", [
    (403, "not allowed to manage this job's pods"),
    (422, "refused this job's pods as invalid"),
])
async def test_an_api_error_becomes_a_condition_the_user_can_read(status: int, words: str) -> None:
    kube = FakeKube(job(phase="Queued", attempts=1))
    kube.fail_pod_create = KubeError(status, '{"kind":"Status","message":"pods is forbidden: nope"}')
    await reconciler(kube).poke("p1", "train")  # raises nothing: the operator keeps going
    ready = next(c for c in kube.job["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ApiError"
    assert words in ready["message"] and "pods is forbidden: nope" in ready["message"]
    assert ready["observedGeneration"] == 1


async def test_a_gang_gets_its_headless_service_once_across_a_crash_and_a_retry() -> None:
    kube = FakeKube(job())
    kube.crash_after_pods = 1
    with pytest.raises(Crash):
        await reconciler(kube).reconcile("p1", "train")
    kube.crash_after_pods = None
    await reconciler(kube).reconcile("p1", "train")  # the second POST answers 409: no error
    (svc,) = kube.services.values()
    assert svc["metadata"]["name"] == "train" and svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"] == {gangs.JOB: "train"}
    assert svc["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert all(p["spec"]["subdomain"] == "train" for p in kube.pods.values())


async def test_a_volume_the_crd_should_have_refused_fails_the_job_and_creates_nothing() -> None:
    kube = FakeKube(job())
    kube.job["spec"]["volumes"] = [{"name": "root", "hostPath": {"path": "/"}}]
    await reconciler(kube).poke("p1", "train")
    status = kube.job["status"]
    assert status["phase"] == "Failed" and "hostPath" in status["message"], status
    assert not kube.pods and not kube.services
    await reconciler(kube).poke("p1", "train")  # a terminal job is left alone
    assert not kube.pods


async def test_the_resync_timer_skips_a_job_reconciled_a_moment_ago() -> None:
    kube = FakeKube(job())
    calls: list[str] = []
    r = reconciler(kube)

    async def counted(namespace: str, name: str) -> None:
        calls.append(name)

    r.reconcile = counted  # type: ignore[method-assign]
    await r.poke("p1", "train")  # a pod event
    await r.poke("p1", "train", unless_within=5.0)  # the timer, right after: nothing to do
    assert calls == ["train"]
    r.last[("p1", "train")] -= 10  # ten seconds later the timer looks again
    await r.poke("p1", "train", unless_within=5.0)
    assert calls == ["train", "train"]
