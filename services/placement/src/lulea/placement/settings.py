"""Placement settings: one class, env prefix LULEA_PLACEMENT_, refused at start when wrong."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube.lease import LeaderElectionSettings


class PlacementSettings(LeaderElectionSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_PLACEMENT_", extra="forbid")

    kubeconfig: str | None = None
    """Path to a kubeconfig; unset means the in-cluster service account."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    scheduler_name: str = Field(default="lulea-placement", min_length=1)
    reserve_after_seconds: float = Field(default=30.0, ge=0)
    """A gang that cannot fit after waiting this long gets a reservation (no more backfill)."""
    cycle_seconds: float = Field(default=1.0, gt=0, le=60)
    """The longest time between two scheduling cycles when nothing changes."""
    bind_concurrency: int = Field(default=128, ge=1, le=512)
    """Binds in flight at once (kube-scheduler has no such cap: its client QPS is its limit)."""
    kube_events: bool = True
    """Record a Kubernetes Event per gang decision (placed, never fits)."""
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    lease_name: str = Field(default="lulea-placement", min_length=1)
