"""The Project operator's settings, from the environment; a bad value stops it at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_", extra="ignore")

    kafka_bootstrap: str = Field(min_length=3, description="host:port of the Kafka event bus")
    kubeconfig: str | None = Field(default=None, description="absent: in-cluster service account")
    operator_host: str = "127.0.0.1"
    operator_port: int = Field(default=8080, ge=1, le=65535, description="/healthz endpoint")
