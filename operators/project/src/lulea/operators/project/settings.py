"""The Project operator's settings, from the environment; a bad value stops it at start. What
every component shares (Kafka, its certificate, LULEA_ENV) is `lulea.core.platform`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube import LeaderElectionSettings


class OperatorSettings(LeaderElectionSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_PROJECT_", extra="forbid")

    kubeconfig: str | None = Field(default=None, description="absent: $KUBECONFIG or in-cluster")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535, description="/healthz and /metrics")
    lease_name: str = Field(default="lulea-operator-project", min_length=1)
    member_ports: list[int] = Field(default_factory=list)
    """The platform ports a project's pods may reach (the member listener of Kafka, the
    registry, storage, logs): the project's NetworkPolicy allows these and nothing else."""
