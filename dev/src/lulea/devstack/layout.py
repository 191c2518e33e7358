"""Where a stack lives: its state directory, its ports, and the cached tools it runs.

Ports are a base plus a fixed offset per endpoint, so two stacks (a developer's `make up` and
the tests') never collide as long as their bases differ by more than PORT_SPAN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
DEV = REPO / "dev"
DEFAULT_PORT_BASE = 20000
PORT_SPAN = 40

# One offset per endpoint; services take theirs from SERVICE_PORTS.
PORT_OFFSETS: dict[str, int] = {
    "etcd": 0,
    "etcd-peer": 1,
    "kube-apiserver": 2,
    "kube-controller-manager": 3,
    "kube-scheduler": 4,
    "kwok": 5,
    "kafka": 6,
    "kafka-controller": 7,
    "kafka-ssl": 8,
    "ferretdb": 9,
    "ferretdb-debug": 10,
    "schema-registry": 20,
    "ca": 21,
    "placement": 22,
    "ca-public": 23,
    "victorialogs": 11,
    "logs-gateway": 25,
    "logs-indexer": 26,
    "logs-collector": 27,
    "operator-project": 30,
    "operator-gpujob": 31,
    "postgres": 12,
    "operator-topic": 32,
    "storage": 24,
    "operator-dataset": 33,
    "pod-runtime": 34,
    "kueue": 35,  # bench/placement only: Kueue's webhook server (its other ports: base + 1000 + 35..37)
}

USERS = ("alice", "bob", "carol", "dave", "erin")


def cache_dir() -> Path:
    return Path(os.environ.get("LULEA_CACHE", Path.home() / ".cache" / "lulea"))


def read_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in (DEV / "versions.env").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def tool_paths() -> dict[str, Path]:
    """Where dev/tools.sh puts each tool (it owns the naming; we ask it)."""
    out = subprocess.run(
        ["bash", str(DEV / "tools.sh"), "--print"], check=True, capture_output=True, text=True
    ).stdout
    paths = {name: Path(path) for name, path in (line.split(" ", 1) for line in out.splitlines())}
    kubectl = shutil.which("kubectl", path=str(REPO / ".venv" / "bin")) or shutil.which("kubectl")
    if kubectl:
        paths["kubectl"] = Path(kubectl)
    return paths


@dataclass(frozen=True)
class Layout:
    state_dir: Path
    port_base: int = DEFAULT_PORT_BASE
    fleet_file: Path = DEV / "fleet.yaml"
    tools: dict[str, Path] = field(default_factory=dict)

    def port(self, name: str) -> int:
        return self.port_base + PORT_OFFSETS[name]

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pids(self) -> Path:
        return self.state_dir / "pids"

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def endpoints_file(self) -> Path:
        return self.state_dir / "endpoints.json"

    @property
    def api_server(self) -> str:
        return f"https://127.0.0.1:{self.port('kube-apiserver')}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.port('kafka')}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port('ferretdb')}/"

    @property
    def pod_logs(self) -> Path:
        """CRI log files of the pods the local runtime runs (the logs collector reads them)."""
        return self.state_dir / "pod-logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def ensure_dirs(self) -> None:
        for d in (self.state_dir, self.logs, self.pids, self.pki):
            d.mkdir(parents=True, exist_ok=True)
