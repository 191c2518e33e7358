"""One pod on the local runtime, from first sight to its deletion: the kubelet's pod worker.

start: read the Secrets and ConfigMaps it references, assign its GPUs, write its volumes, decide
each container's process (spec.json) and start its shim; then report what the shims say, until
every container has ended (phase Succeeded or Failed). A pod being deleted gets SIGTERM, SIGKILL
after its grace period, and is then deleted for good (grace 0), as the kubelet confirms a
deletion. A pod that vanished (deleted with grace 0, its namespace gone) has its processes
stopped the same way. Everything decided is on disk first, so a new runtime resumes any step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulea.core.kube import Kube, KubeError
from lulea.devstack.runtime import spec as S
from lulea.devstack.runtime.containers import Container
from lulea.devstack.runtime.volumes import Token, link_mount, volume_files, write_volume

log = logging.getLogger("lulea.runtime")
Obj = dict[str, Any]
POLL = 0.1  # seconds between looks at running containers' files


@dataclass(frozen=True)
class Host:
    """What the runtime gives every pod: where things go, and the processes' base environment."""

    pods_dir: Path
    logs_dir: Path
    pids_dir: Path | None
    base_env: dict[str, str]


def _iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


class PodWorker:
    def __init__(self, kube: Kube, host: Host, uid: str, key: str, current: Callable[[], Obj | None],
                 gpus: Callable[[Obj, str, int], list[int] | None], release: Callable[[str], None],
                 node_ip: Callable[[str], str]) -> None:
        self.kube, self.host, self.uid, self.key = kube, host, uid, key
        self.current, self.gpus, self.release, self.node_ip = current, gpus, release, node_ip
        self.dir = host.pods_dir / uid
        self.poked = asyncio.Event()
        self.containers: dict[str, Container] = {}
        self.reported: Obj | None = None
        self.config_error: str | None = None

    # --- the record -----------------------------------------------------------------------
    def record(self) -> Obj | None:
        try:
            return json.loads((self.dir / "pod.json").read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def _container(self, name: str) -> Container:
        if name not in self.containers:
            self.containers[name] = Container(name, self.dir / "containers" / name)
        return self.containers[name]

    def _recorded_containers(self) -> list[Container]:
        rec = self.record() or {}
        return [self._container(n) for n in rec.get("containers", [])]

    # --- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # e.g. the API server restarting: a new worker resumes from disk
            log.warning("pod %s (%s): worker stopped on %r; a new one resumes in 1s", self.key, self.uid, err)
            await asyncio.sleep(1.0)

    async def _run(self) -> None:
        while True:
            pod = self.current()
            if pod is None:
                await self.stop(grace=self._grace(None))
                self.forget()
                return
            if pod["metadata"].get("deletionTimestamp"):
                if self.record() is not None:
                    await self.stop(grace=self._grace(pod))
                    await self._report(pod)
                await self._confirm_deletion(pod)
                self.forget()
                return
            if self.record() is None:
                if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    await self._idle()  # ended before this runtime's records began: nothing to run
                    continue
                if not await self._start(pod):
                    await self._report(pod)
                    await self._idle(2.0)  # a missing Secret or ConfigMap: look again soon
                    continue
            for c in self._recorded_containers():
                if c.needs_start():
                    log.info("pod %s: container %s was decided but never started; starting it",
                             self.key, c.name)
                    c.start(json.loads((c.directory / "spec.json").read_text()))
            ended = await self._report(pod)
            if ended:
                self.release(self.uid)
            await self._idle(None if ended else POLL)

    async def _idle(self, seconds: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.poked.wait(), seconds)
        self.poked.clear()

    def poke(self) -> None:
        self.poked.set()

    def _grace(self, pod: Obj | None) -> float:
        if pod is not None:
            meta, spec = pod["metadata"], pod.get("spec") or {}
            value = meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", 30))
            return float(value if value is not None else 30)
        return float((self.record() or {}).get("grace", 30))

    # --- start ----------------------------------------------------------------------------
    async def _sources(self, pod: Obj) -> S.Sources:
        ns = pod["metadata"]["namespace"]
        secrets, cms = S.referenced(pod)

        async def get(kind: str, name: str) -> Obj | None:
            try:
                return await self.kube.request("GET", f"/api/v1/namespaces/{ns}/{kind}/{name}")
            except KubeError as err:
                if err.status == 404:
                    return None
                raise

        found_s = {n: S.secret_data(o) for n in secrets if n and (o := await get("secrets", n))}
        found_c = {n: S.config_map_data(o) for n in cms if n and (o := await get("configmaps", n))}
        return S.Sources(found_s, found_c)

    async def _token(self, pod: Obj, token: Token) -> str:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        sa = spec.get("serviceAccountName") or "default"
        body: Obj = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "expirationSeconds": token.seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}}}
        if token.audience:
            body["spec"]["audiences"] = [token.audience]
        answer = await self.kube.request(
            "POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{sa}/token", body=body)
        return str(answer["status"]["token"])

    async def _start(self, pod: Obj) -> bool:
        """Volumes, then every container's process. False while a reference is missing."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        containers = spec.get("containers") or []
        try:
            sources = await self._sources(pod)
            volumes: dict[str, Path] = {}
            for volume in spec.get("volumes") or ():
                name = volume["name"]
                if "hostPath" in volume:
                    volumes[name] = Path(volume["hostPath"]["path"])
                    continue
                files = volume_files(pod, volume, sources)
                tokens = {f.content: await self._token(pod, f.content)
                          for f in files or () if isinstance(f.content, Token)}
                target = self.dir / "volumes" / name
                write_volume(target, files, tokens)
                volumes[name] = target
            plans = []
            for c in containers:
                want = S.gpus_wanted(c)
                devices = self.gpus(pod, c["name"], want)
                if devices is None:
                    raise S.ConfigError(f"container {c['name']}: {want} GPUs asked, fewer free on "
                                        f"{spec.get('nodeName')}")
                plans.append(self._plan(pod, c, sources, volumes, devices))
        except S.ConfigError as err:
            self.config_error = str(err)
            self.release(self.uid)
            return False
        self.config_error = None
        self.dir.mkdir(parents=True, exist_ok=True)
        record = {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                  "node": spec.get("nodeName"), "grace": self._grace(pod),
                  "containers": [c["name"] for c in containers],
                  "gpus": {c["name"]: p["gpus"] for c, p in zip(containers, plans, strict=True)}}
        (self.dir / "pod.json").write_text(json.dumps(record))
        for c, plan in zip(containers, plans, strict=True):
            if plan["argv"]:
                self._container(c["name"]).start(plan)
            else:
                self._no_command(self._container(c["name"]))
        log.info("pod %s: started %d containers", self.key, len(containers))
        return True

    def _plan(self, pod: Obj, c: Obj, sources: S.Sources, volumes: dict[str, Path],
              devices: list[int]) -> Obj:
        meta = pod["metadata"]
        cdir = self.dir / "containers" / c["name"]
        rootfs = cdir / "rootfs"
        for m in c.get("volumeMounts") or ():
            if m["name"] not in volumes:
                raise S.ConfigError(f"container {c['name']}: volumeMount {m['name']!r} names no volume")
            link_mount(rootfs, m["mountPath"], volumes[m["name"]], m.get("subPath"))
        home = rootfs / "home"
        home.mkdir(parents=True, exist_ok=True)
        base = {**self.host.base_env, "HOME": str(home),
                "HOSTNAME": (pod.get("spec") or {}).get("hostname") or meta["name"],
                "CUDA_VISIBLE_DEVICES": ",".join(str(d) for d in devices)}
        env = S.remap_env(S.container_env(pod, c, sources, base), c, rootfs)
        cwd = S.working_dir(c, rootfs)
        cwd.mkdir(parents=True, exist_ok=True)
        logs = S.log_dir(self.host.logs_dir, pod) / c["name"]
        pidfile = (self.host.pids_dir / f"pod-{meta['uid'][:8]}-{c['name']}.pid"
                   if self.host.pids_dir else None)
        return {"argv": S.argv(c, env, rootfs), "env": env, "cwd": str(cwd),
                "log": str(logs / "0.log"), "pidfile": str(pidfile) if pidfile else None, "gpus": devices}

    def _no_command(self, c: Container) -> None:
        c.directory.mkdir(parents=True, exist_ok=True)
        message = ("the local runtime pulls no image, so it cannot run the image's entrypoint: "
                   "give the container a command")
        now = time.time()
        result = {"exitCode": 127, "reason": "NoCommand", "message": message, "startedAt": now,
                  "finishedAt": now}
        (c.directory / "exit").write_text(json.dumps(result))

    # --- status ---------------------------------------------------------------------------
    async def _report(self, pod: Obj) -> bool:
        """Patch the pod's status if it changed; True once every container has ended."""
        spec = pod.get("spec") or {}
        states, codes = [], []
        for c in spec.get("containers") or []:
            if self.record() is None:
                state: Obj = {"waiting": {"reason": "CreateContainerConfigError" if self.config_error
                                          else "ContainerCreating"}}
                if self.config_error:
                    state["waiting"]["message"] = self.config_error
                code: int | None = None
            else:
                state, code = self._container(c["name"]).state()
            states.append(S.now_status_container(c, state))
            codes.append(code)
        if self.record() is None:
            phase = "Pending"
        elif all(code is not None for code in codes):
            phase = S.pod_phase(codes)
        elif all("waiting" not in st["state"] for st in states):
            phase = "Running"  # every container created, at least one still runs
        else:
            phase = "Pending"
        status = self._status(pod, phase, states)
        if status != self.reported:
            await self._patch(pod, status)
        return phase in ("Succeeded", "Failed")

    def _status(self, pod: Obj, phase: str, states: list[Obj]) -> Obj:
        old = self.reported or pod.get("status") or {}  # the informer may lag our own writes
        running = phase == "Running" and all(s["ready"] for s in states)
        done = phase in ("Succeeded", "Failed")
        prior = {c.get("type"): c for c in old.get("conditions") or ()}

        def cond(kind: str, ok: bool, reason: str | None = None) -> Obj:
            was = prior.get(kind) or {}
            value = "True" if ok else "False"
            since = was.get("lastTransitionTime") if was.get("status") == value else _iso()
            out: Obj = {"type": kind, "status": value, "lastTransitionTime": since or _iso()}
            if reason:
                out["reason"] = reason
            return out

        started = phase != "Pending" or any("waiting" not in s["state"] for s in states)
        why = "PodCompleted" if done else (None if running else "ContainersNotReady")
        node_ip = self.node_ip(str((pod.get("spec") or {}).get("nodeName") or ""))
        status: Obj = {
            "phase": phase,
            "conditions": [cond("PodReadyToStartContainers", started), cond("Initialized", True),
                           cond("ContainersReady", running, why), cond("Ready", running, why)],
            "containerStatuses": states,
            "hostIP": node_ip, "hostIPs": [{"ip": node_ip}],
            "podIP": S.POD_IP, "podIPs": [{"ip": S.POD_IP}],
            "startTime": old.get("startTime") or _iso(),
        }
        return status

    async def _patch(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self.kube.patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                                  {"metadata": {"uid": meta["uid"]}, "status": status}, kind="strategic")
            self.reported = status
        except KubeError as err:
            if err.status not in (404, 409, 422):
                raise
            log.info("pod %s: status not written (%s)", self.key, err.status)

    # --- stop -----------------------------------------------------------------------------
    async def stop(self, grace: float) -> None:
        """SIGTERM every live container, SIGKILL what still runs after `grace` seconds."""
        live = [c for c in self._recorded_containers()
                if c.result() is None and (c.shim_alive() or c.process_alive())]
        if not live:
            return
        for c in live:
            c.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        # other processes' ends: nothing to await but their files and /proc
        while time.monotonic() < deadline and any(c.shim_alive() or c.process_alive() for c in live):  # noqa: ASYNC110
            await asyncio.sleep(POLL)
        for c in live:
            if c.shim_alive() or c.process_alive():
                log.info("pod %s: container %s outlived its %.0fs grace: SIGKILL", self.key, c.name, grace)
                c.signal(signal.SIGKILL)
        while any(c.shim_alive() or c.process_alive() for c in live):  # noqa: ASYNC110
            await asyncio.sleep(POLL)
        for c in live:
            c.state()  # record how it ended (an exit code, or unknown after SIGKILL)

    async def _confirm_deletion(self, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self.kube.request("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                                    body={"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})
        except KubeError as err:
            if err.status not in (404, 409):
                raise

    def forget(self) -> None:
        """The pod is gone: its GPUs are free, its files removed (its CRI logs stay)."""
        self.release(self.uid)
        for c in self.containers.values():
            c.reap()
        shutil.rmtree(self.dir, ignore_errors=True)
