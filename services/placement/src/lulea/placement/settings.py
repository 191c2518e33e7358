"""Placement settings: one class, env prefix LULEA_PLACEMENT_, refused at start when wrong."""

from __future__ import annotations

import os
import socket

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlacementSettings(BaseSettings):
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
    bind_concurrency: int = Field(default=32, ge=1, le=512)
    kube_events: bool = True
    """Record a Kubernetes Event per gang decision (placed, never fits)."""
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    leader_elect: bool = True
    """Schedule only while holding the Lease; other replicas stand by (warm) to take over."""
    lease_namespace: str = Field(default="lulea-system", min_length=1)
    lease_name: str = Field(default="lulea-placement", min_length=1)
    identity: str = Field(default_factory=lambda: f"{socket.gethostname()}_{os.getpid()}", min_length=1)
    """This replica's name in the Lease (the pod name in a cluster)."""
    lease_seconds: float = Field(default=15.0, ge=2)
    renew_deadline_seconds: float = Field(default=10.0, gt=0)
    retry_seconds: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _lease_timing(self) -> PlacementSettings:
        if not self.retry_seconds < self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError(
                "leader election needs retry_seconds < renew_deadline_seconds < lease_seconds "
                f"(got {self.retry_seconds}, {self.renew_deadline_seconds}, {self.lease_seconds})"
            )
        return self
