"""Settings of the three programs, one class each, from the environment; checked at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.events.topics import LOGS_TOPIC
from lulea.core.platform import AUDIENCE

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class CollectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_LOGS_COLLECTOR_", extra="forbid")

    root: Path = Path("/var/log/pods")
    checkpoint_file: Path = Path("/var/lib/lulea-logs/checkpoints.json")
    node_name: str = ""  # this node (the DaemonSet's spec.nodeName); a pod's own nodeName wins
    topic: str = LOGS_TOPIC
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    scan_seconds: Annotated[float, Field(gt=0, le=60)] = 0.25  # how often to look for new files
    checkpoint_seconds: Annotated[float, Field(gt=0, le=60)] = 0.2
    pod_wait_seconds: Annotated[float, Field(ge=0, le=600)] = 10.0
    """A file of a pod not (yet) in the informer waits this long, then ships without its job."""
    max_queued_messages: Annotated[int, Field(ge=10, le=1_000_000)] = 2000  # backpressure
    message_bytes: Annotated[int, Field(ge=4096, le=900_000)] = 512 * 1024
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "lz4"
    linger_ms: Annotated[int, Field(ge=0, le=1000)] = 5
    kubeconfig: str | None = None
    log_level: Level = "INFO"


class IndexerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_LOGS_INDEXER_", extra="forbid")

    victorialogs_url: str = "http://127.0.0.1:9428"
    topic: str = LOGS_TOPIC
    group: str = "lulea-logs-indexer"
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    batch_messages: Annotated[int, Field(ge=1, le=100_000)] = 500
    batch_wait_seconds: Annotated[float, Field(ge=0, le=10)] = 0.05
    retry_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    visibility_seconds: Annotated[float, Field(ge=0, le=10)] = 0.2
    """Ask VictoriaLogs to make written lines searchable at most this often (0: never ask)."""
    commit_lag_seconds: Annotated[float, Field(ge=0, le=120)] = 3.0
    """Commit a batch's offsets this long after its write: VictoriaLogs' -inmemoryDataFlushInterval
    (1 s locally, the chart's logs.victorialogs.flushIntervalSeconds) plus the second its rows
    buffer may hold them, plus a margin."""
    log_level: Level = "INFO"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_LOGS_GATEWAY_", extra="forbid")

    victorialogs_url: str = "http://127.0.0.1:9428"
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 8443
    token_audiences: tuple[str, ...] = (AUDIENCE,)
    token_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    crl_refresh_seconds: Annotated[float, Field(gt=0, le=300)] = 1.0
    sweep_seconds: Annotated[float, Field(gt=0, le=86400)] = 30.0
    """How often the logs of tenants without a Project are deleted (a Project's logs go with it)."""
    kubeconfig: str | None = None
    log_level: Level = "INFO"
