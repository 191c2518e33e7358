"""A running stack as its users see it: endpoints.json turned into an object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lulea.core.kafka import KafkaClient
from lulea.devstack.layout import Layout, tool_paths


@dataclass(frozen=True)
class Stack:
    state_dir: Path
    api_server: str
    kubeconfig: Path
    ca_file: Path  # the control plane's CA (the API server's serving certificate)
    trust_file: Path  # the platform root: every Lulea TLS endpoint and Kafka verify against it
    kafka_bootstrap: str  # Kafka's platform listener (mTLS, service certificates)
    kafka_member_bootstrap: str  # Kafka's member listener (mTLS, member certificates)
    kafka_admin_cert: Path
    kafka_admin_key: Path
    mongo_uri: str
    tokens: dict[str, str]
    logs: Path
    port_base: int
    ca_url: str
    ca_public_url: str
    schema_registry_url: str
    placement_url: str
    audit_log: Path

    @classmethod
    def from_endpoints(cls, state_dir: Path) -> Stack:
        e = json.loads((state_dir / "endpoints.json").read_text())
        return cls(state_dir=state_dir, api_server=e["api_server"], kubeconfig=Path(e["kubeconfig"]),
                   ca_file=Path(e["ca_file"]), trust_file=Path(e["trust_file"]),
                   kafka_bootstrap=e["kafka_bootstrap"], kafka_member_bootstrap=e["kafka_member_bootstrap"],
                   kafka_admin_cert=Path(e["kafka_admin"]["cert"]),
                   kafka_admin_key=Path(e["kafka_admin"]["key"]),
                   mongo_uri=e["mongo_uri"], tokens=e["tokens"], logs=Path(e["logs"]),
                   port_base=int(e["port_base"]), ca_url=e["ca_url"], ca_public_url=e["ca_public_url"],
                   schema_registry_url=e["schema_registry_url"], placement_url=e["placement_url"],
                   audit_log=Path(e["audit_log"]))

    @property
    def storage_url(self) -> str:
        """The storage service's WebHDFS base (https, the platform root verifies it)."""
        return f"https://127.0.0.1:{Layout(self.state_dir, self.port_base).port('storage')}"

    @property
    def layout(self) -> Layout:
        """Where this stack's pids, logs and ports are (to stop or start one of its components)."""
        return Layout(state_dir=self.state_dir, port_base=self.port_base, tools=tool_paths())

    @property
    def kafka_admin(self) -> KafkaClient:
        """The local Kafka administrator (a super user) on the platform listener."""
        return KafkaClient.from_files(self.kafka_bootstrap, self.trust_file, self.kafka_admin_cert,
                                      self.kafka_admin_key)

    def kubeconfig_for(self, user: str) -> Path:
        return self.kubeconfig if user == "admin" else self.state_dir / f"kubeconfig-{user}"

    @property
    def kubectl(self) -> str:
        return str(tool_paths()["kubectl"])
