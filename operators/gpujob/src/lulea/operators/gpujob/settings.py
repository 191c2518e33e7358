"""GpuJob operator settings: env prefix LULEA_GPUJOB_, refused at start when wrong."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GpuJobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_GPUJOB_", extra="forbid")

    kubeconfig: str | None = None
    """Path to a kubeconfig; unset means $KUBECONFIG or the in-cluster service account."""
    kafka_bootstrap: str | None = None
    """Where platform events go and what job pods get as LULEA_KAFKA_BOOTSTRAP; unset: no events."""
    schema_registry_url: str | None = None
    tolerate_kwok: bool = True
    """Pods tolerate the kwok fake-node taint (local stack and benchmarks)."""
    resync_seconds: float = Field(default=5.0, gt=0, le=300)
    """How often every unfinished job is re-checked (deadlines, missed events)."""
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    """kopf's liveness endpoint (/healthz) on host:port; 0 = none."""
