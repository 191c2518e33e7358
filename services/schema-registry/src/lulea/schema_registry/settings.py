"""The schema registry's settings: env prefix LULEA_SCHEMA_REGISTRY_, checked at start."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.compatibility import Compatibility
from lulea.core.platform import AUDIENCE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_SCHEMA_REGISTRY_", extra="forbid")

    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 8081
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_database: Annotated[str, Field(min_length=1, max_length=63)] = "lulea_schema_registry"
    every_caller_is_platform: bool = False
    """Weakens security: no authentication, every caller may do everything. For unit tests
    and the benchmark of the service alone; refused at start-up unless LULEA_ENV=local."""
    # comma-separated principals with full access (besides lulea-system service accounts)
    admin_principals: str = ""
    platform_namespace: str = "lulea-system"
    token_audiences: tuple[str, ...] = (AUDIENCE,)
    """A bearer token must be bound to one of these (TokenReview): an API-server token is refused."""
    xfcc_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    """Addresses of TLS-terminating proxies whose X-Forwarded-Client-Cert header is believed."""
    crl_refresh_seconds: Annotated[float, Field(gt=0, le=300)] = 1.0
    kubeconfig: str | None = None  # None: $KUBECONFIG or in-cluster
    token_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    default_compatibility: Compatibility = Compatibility.BACKWARD
    max_schema_bytes: Annotated[int, Field(ge=1024, le=64 * 1_048_576)] = 1_048_576
    id_block_size: Annotated[int, Field(ge=1, le=10_000)] = 20
    id_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("default_compatibility", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.admin_principals.split(",") if p.strip())
