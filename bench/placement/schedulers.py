"""bench/placement's scheduler processes: kube-scheduler (QPS/burst 500, with or without its
alpha gang scheduling), Kueue's manager, and lulea-placement, each started as a local process
in its own process group and stopped by it; plus the paths and ports the bench shares."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lulea.core import gangs as c
from lulea.core.kube import Kube, KubeError

STATE = Path("/tmp/lulea-bench-placement")
PORT_BASE = 26000
EXTRA_BASE = 27000  # this bench's second block: ports the layout does not name
REPO = Path(__file__).resolve().parents[2]

# KEP-4671's Workload API: the GenericWorkload gate serves scheduling.k8s.io/v1alpha2 (Workload,
# PodGroup) and Pod.spec.schedulingGroup; GangScheduling is the scheduler's half (the API
# server gets the same gates: run.py's APISERVER_ARGS).
GATES = "GenericWorkload=true,GangScheduling=true"
KUEUE_QUEUE = "bench"


def tool(name: str) -> Path:
    out = subprocess.run(["bash", str(REPO / "dev" / "tools.sh"), "--path", name], check=True,
                         capture_output=True, text=True).stdout.strip()
    return Path(out)



@dataclass
class Procs:
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (STATE / "logs" / f"bench-{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.procs.items()}

    def alive(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def stop(self) -> None:
        for p in self.procs.values():  # only what this bench started, by its own process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        self.procs.clear()


def scheduler_config(gang: bool) -> Path:
    """kube-scheduler's configuration: client QPS/burst 500, so the client is not the limit."""
    kubeconfig = STATE / "kubeconfig"
    body = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig), "qps": 500, "burst": 500},
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": "default-scheduler"}],
    }
    path = STATE / f"kube-scheduler-{'gang' if gang else 'plain'}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def start_kube_scheduler(procs: Procs, gang: bool) -> None:
    kubeconfig = STATE / "kubeconfig"
    argv = [
        str(tool("kube-scheduler")), f"--config={scheduler_config(gang)}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={PORT_BASE + 4}", "--v=1",
    ]
    if gang:
        argv.append(f"--feature-gates={GATES}")
    procs.start("kube-scheduler", argv)


def kueue_certs() -> Path:
    """Kueue's manager serves its webhooks and metrics over TLS even when nobody calls them (the
    bench registers no webhook: it labels and gates pods as the pod webhook would). Without its
    internal certificate manager it reads the metrics pair from a fixed path."""
    certs = STATE / "kueue-certs"
    certs.mkdir(parents=True, exist_ok=True)
    if not (certs / "tls.crt").exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-keyout", str(certs / "tls.key"), "-out", str(certs / "tls.crt")],
            check=True, capture_output=True,
        )
    fixed = Path("/etc/kueue/metrics/certs")
    fixed.mkdir(parents=True, exist_ok=True)
    for f in ("tls.crt", "tls.key"):
        shutil.copy(certs / f, fixed / f)
    return certs


def kueue_config(timeout: float) -> Path:
    body = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": f"127.0.0.1:{EXTRA_BASE + 35}"},
        "metrics": {"bindAddress": f"127.0.0.1:{EXTRA_BASE + 36}"},
        "webhook": {"port": PORT_BASE + 35, "host": "127.0.0.1", "certDir": str(kueue_certs())},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "clientConnection": {"qps": 500, "burst": 500},
        # all-or-nothing: a workload whose pods are not all Ready within the timeout is evicted
        # and requeued. blockAdmission stays off: on, it admits one workload at a time until its
        # pods are Ready, which serializes admission behind kwok's start lag; the quota equals the
        # fleet, so what it admits fits by count anyway
        "waitForPodsReady": {"timeout": f"{int(timeout)}s", "blockAdmission": False,
                             "requeuingStrategy": {"timestamp": "Eviction", "backoffBaseSeconds": 5}},
        "integrations": {"frameworks": ["pod"]},
        "managedJobsNamespaceSelector": {"matchLabels": {"bench.lulea.io/kueue": "true"}},
    }
    path = STATE / "kueue.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


async def kueue_crds(kube: Kube) -> None:
    """Kueue's CRDs from the module's own config (the version built), applied and established."""
    crds = Path.home() / "go/pkg/mod/sigs.k8s.io" / "kueue@v0.17.0" / "config/components/crd/bases"
    if not crds.is_dir():
        raise RuntimeError(f"Kueue's CRDs are not in the module cache ({crds}): run dev/tools.sh kueue")
    done = subprocess.run([str(shutil.which("kubectl") or REPO / ".venv/bin/kubectl"), "--kubeconfig",
                           str(STATE / "kubeconfig"), "apply", "--server-side", "--force-conflicts",
                           "--request-timeout=300s", "-f", str(crds)],
                          capture_output=True, text=True, timeout=400, check=False)
    if done.returncode:
        raise RuntimeError(f"applying Kueue's CRDs failed: {done.stderr.strip()[-500:]}")
    # every kind Kueue's manager indexes at start must be served, or it exits ("no matches for
    # kind Workload"): the last CRDs applied are the first ones missing from discovery
    kinds = ("resourceflavors", "clusterqueues", "localqueues", "workloads", "topologies")
    for _ in range(60):
        try:
            for kind in kinds:
                await kube.list(f"/apis/kueue.x-k8s.io/v1beta2/{kind}")
            return
        except KubeError:
            await asyncio.sleep(1)


async def kueue_setup(kube: Kube, namespace: str, gpus: int, tas: bool) -> None:
    """CRDs from the module's config, one ResourceFlavor, a ClusterQueue with the fleet's GPUs,
    and the namespace's LocalQueue. With `tas`, the flavor names a Topology (racks, then hosts):
    Kueue's topology-aware scheduling then admits a gang only where its pods fit node by node,
    and places them (preferring one rack) before kube-scheduler binds them."""
    await kueue_crds(kube)
    v = "kueue.x-k8s.io/v1beta2"
    queue, flavor = (f"{KUEUE_QUEUE}-tas", "gpu-tas") if tas else (KUEUE_QUEUE, "gpu")
    flavor_spec: dict[str, Any] = {}
    if tas:
        flavor_spec = {"nodeLabels": {"lulea.io/gpu-model": "a100"}, "topologyName": KUEUE_QUEUE}
    objs = [
        ("/apis/kueue.x-k8s.io/v1beta2/topologies",
         {"apiVersion": v, "kind": "Topology", "metadata": {"name": KUEUE_QUEUE},
          "spec": {"levels": [{"nodeLabel": "lulea.io/rack"}, {"nodeLabel": "kubernetes.io/hostname"}]}}),
        ("/apis/kueue.x-k8s.io/v1beta2/resourceflavors",
         {"apiVersion": v, "kind": "ResourceFlavor", "metadata": {"name": flavor}, "spec": flavor_spec}),
        ("/apis/kueue.x-k8s.io/v1beta2/clusterqueues",
         {"apiVersion": v, "kind": "ClusterQueue", "metadata": {"name": queue},
          "spec": {"namespaceSelector": {}, "queueingStrategy": "BestEffortFIFO",
                   "resourceGroups": [{"coveredResources": [c.GPU], "flavors": [
                       {"name": flavor, "resources": [{"name": c.GPU, "nominalQuota": gpus}]}]}]}}),
        (f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{namespace}/localqueues",
         {"apiVersion": v, "kind": "LocalQueue",
          "metadata": {"name": KUEUE_QUEUE, "namespace": namespace}, "spec": {"clusterQueue": queue}}),
    ]
    for path, body in objs:
        with contextlib.suppress(KubeError):  # 409: there from an earlier run
            await kube.request("POST", path, body=body)


def start_kueue(procs: Procs, timeout: float) -> None:
    path = tool("kueue")
    if not path.exists():
        raise RuntimeError(f"Kueue is not built ({path}): run `bash dev/tools.sh kueue`")
    procs.start("kueue", [str(path), f"--config={kueue_config(timeout)}",
                          # its visibility API server wants certificates under /visibility: off
                          "--feature-gates=VisibilityOnDemand=false", "--zap-log-level=error"],
                {"KUBECONFIG": str(STATE / "kubeconfig")})


def start_schedulers(procs: Procs, label: str, timeout: float) -> None:
    if label in ("kube-scheduler", "kueue", "kueue-tas"):
        start_kube_scheduler(procs, gang=False)
    elif label == "kube-gang":
        start_kube_scheduler(procs, gang=True)
    elif label == "lulea-placement":
        start_placement(procs)
    if label.startswith("kueue"):
        start_kueue(procs, timeout)


def start_placement(procs: Procs) -> None:
    env = {
        "KUBECONFIG": str(STATE / "kubeconfig"),
        "LULEA_ENV": "local",  # plain HTTP probes on loopback, as in make up
        "LULEA_PLACEMENT_PORT": str(PORT_BASE + 22),
        "LULEA_PLACEMENT_KUBE_EVENTS": "true",  # kube-scheduler and Kueue post theirs too
        "LULEA_PLACEMENT_LOG_LEVEL": os.environ.get("BENCH_PLACEMENT_LOG_LEVEL", "WARNING"),
    }
    procs.start("placement", [sys.executable, "-m", "lulea.placement"], env)
