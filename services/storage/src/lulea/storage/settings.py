"""The storage service's settings: env prefix LULEA_STORAGE_, checked at start."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.platform import AUDIENCE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_STORAGE_", extra="forbid")

    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 9870  # the NameNode's HTTP port
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_database: Annotated[str, Field(min_length=1, max_length=63)] = "lulea_storage"
    postgres_dsn: SecretStr | None = None
    """The PostgreSQL that FerretDB runs on (libpq DSN or URL), when it runs on one: the service
    then makes the GIN indexes FerretDB 1.24 lacks (postgres_indexes.py). Absent: none made."""
    every_caller_is_platform: bool = False
    """Weakens security: no authentication, `user.name` believed, every caller may do everything.
    For the benchmark of the service alone; refused at start-up unless LULEA_ENV=local."""
    platform_namespace: str = "lulea-system"
    token_audiences: tuple[str, ...] = (AUDIENCE,)
    crl_refresh_seconds: Annotated[float, Field(gt=0, le=300)] = 1.0
    kubeconfig: str | None = None
    token_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    block_bytes: Annotated[int, Field(ge=65 * 1024, le=15 * 1024 * 1024)] = 4 * 1024 * 1024
    """Bytes per block document (MongoDB's limit is 16 MiB a document)."""
    reclaim_seconds: Annotated[float, Field(gt=0, le=600)] = 2.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
