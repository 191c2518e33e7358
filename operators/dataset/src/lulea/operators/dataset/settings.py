"""Dataset operator settings: env prefix LULEA_DATASET_, refused at start when wrong."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube import LeaderElectionSettings


class DatasetSettings(LeaderElectionSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_DATASET_", extra="forbid")

    kubeconfig: str | None = None
    storage_url: str = Field(default="https://lulea-storage.lulea-system.svc:9871", pattern=r"^https://")
    """The storage service; the operator calls its WebHDFS API as a platform principal."""
    publish_events: bool = True
    """Dataset events on lulea.events.dataset (needs LULEA_KAFKA_BOOTSTRAP)."""
    resync_seconds: float = Field(default=10.0, gt=0, le=600)
    """How often each Dataset's usage and share states are read again."""
    give_up_seconds: float = Field(default=600.0, gt=0)
    """A Dataset being deleted whose tree the storage service could not remove for this long
    is let go (condition DataLeft, Event) instead of holding its finalizer forever."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    lease_name: str = Field(default="lulea-operator-dataset", min_length=1)
