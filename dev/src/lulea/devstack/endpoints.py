"""A running stack as its users see it: endpoints.json turned into an object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lulea.devstack.layout import Layout, tool_paths


@dataclass(frozen=True)
class Stack:
    state_dir: Path
    api_server: str
    kubeconfig: Path
    ca_file: Path
    kafka_bootstrap: str
    mongo_uri: str
    tokens: dict[str, str]
    logs: Path
    port_base: int

    @classmethod
    def from_endpoints(cls, state_dir: Path) -> Stack:
        e = json.loads((state_dir / "endpoints.json").read_text())
        return cls(state_dir=state_dir, api_server=e["api_server"], kubeconfig=Path(e["kubeconfig"]),
                   ca_file=Path(e["ca_file"]), kafka_bootstrap=e["kafka_bootstrap"],
                   mongo_uri=e["mongo_uri"], tokens=e["tokens"], logs=Path(e["logs"]),
                   port_base=int(e["port_base"]))

    @property
    def layout(self) -> Layout:
        """Where this stack's pids, logs and ports are (to stop or start one of its components)."""
        return Layout(state_dir=self.state_dir, port_base=self.port_base, tools=tool_paths())

    def kubeconfig_for(self, user: str) -> Path:
        return self.kubeconfig if user == "admin" else self.state_dir / f"kubeconfig-{user}"

    @property
    def kubectl(self) -> str:
        return str(tool_paths()["kubectl"])
