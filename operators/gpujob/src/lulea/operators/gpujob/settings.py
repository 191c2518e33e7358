"""GpuJob operator settings: env prefix LULEA_GPUJOB_, refused at start when wrong. What every
component shares (Kafka's platform listener, its certificate, LULEA_ENV) is
`lulea.core.platform`; what the operator injects into job pods is named for the pods."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube import LeaderElectionSettings


class GpuJobSettings(LeaderElectionSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_GPUJOB_", extra="forbid")

    kubeconfig: str | None = None
    """Path to a kubeconfig; unset means $KUBECONFIG or the in-cluster service account."""
    member_kafka_bootstrap: str | None = None
    """What job pods get as LULEA_KAFKA_BOOTSTRAP: Kafka's *member* listener (mTLS with the
    member's certificate), never the platform's listener."""
    schema_registry_url: str | None = None
    """What job pods get as LULEA_SCHEMA_REGISTRY_URL."""
    storage_url: str | None = None
    """What job pods get as LULEA_STORAGE_URL (the storage service's WebHDFS base); unset: absent."""
    logs_url: str | None = None
    """What job pods get as LULEA_LOGS_URL (the logs query gateway); unset: absent."""
    network: Literal["service", "loopback"] = "service"
    """How a gang's ranks reach each other: `service` (a cluster: a headless Service and DNS names,
    every rank on rendezvous_port) or `loopback` (the local runtime: 127.0.0.1 and a block of
    ports of loopback_ports per gang). See rendezvous.py."""
    rendezvous_port: int = Field(default=29500, ge=1, le=65535)
    loopback_ports: tuple[int, int] = (10000, 10999)
    """First and last port of the range loopback gangs take their ports from."""
    publish_events: bool = True
    """JobSubmitted/JobPlaced/JobFinished on lulea.events.gpujob (needs LULEA_KAFKA_BOOTSTRAP)."""
    tolerate_kwok: bool = True
    """Pods tolerate the kwok fake-node taint (local stack and benchmarks)."""
    resync_seconds: float = Field(default=5.0, gt=0, le=300)
    """How often every unfinished job is re-checked (deadlines, missed events); a job reconciled
    for an event less than this long ago is not re-checked by the timer."""
    api_connections: int = Field(default=32, ge=1, le=512)
    """Connections to the API server kept open: every job's reconcile runs concurrently, and with
    the client's default (4) their requests queue behind each other (bench/runtime compares)."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    """/healthz, /readyz and /metrics on host:port."""
    lease_name: str = Field(default="lulea-operator-gpujob", min_length=1)
