"""The CA's settings (env prefix LULEA_CA_); bad values fail at start. What every component
shares (its service account, Kafka, the trust file) is `lulea.core.platform.PlatformSettings`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.platform import AUDIENCE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_CA_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(9443, ge=1, le=65535)
    """The API (TLS): CSR signing, certificate status, metrics."""
    public_port: int = Field(8080, ge=1, le=65535)
    """Plain HTTP for public trust material only: GET /ca and GET /crl (RFC 5280 distribution
    points are fetched over HTTP; a CRL and a chain are signed, and verifiers need them before
    they can trust any TLS endpoint)."""
    mongo_uri: str = Field(..., min_length=1)
    mongo_database: str = "lulea_ca"
    kubeconfig: Path | None = None  # None: in-cluster service account
    # The hierarchy: a directory from `python -m lulea.ca init`, or Secrets in a namespace.
    key_dir: Path | None = None
    key_namespace: str = "lulea-system"
    root_secret: str = "lulea-ca-root"
    intermediate_secret: str = "lulea-ca-intermediate"
    lifetime_days: float = Field(30.0, gt=0.0, le=397.0)
    rotation_interval_seconds: float = Field(60.0, ge=1.0, le=3600.0)
    resync_seconds: float = Field(300.0, ge=1.0, le=86400.0)
    """How often every project's certificates are converged with its members, events or not."""
    crl_validity_hours: float = Field(24.0, ge=1.0, le=24.0 * 30)
    crl_url: str | None = None
    platform_namespaces: frozenset[str] = frozenset({"lulea-system"})
    token_audiences: tuple[str, ...] = (AUDIENCE,)
    """A token must be bound to one of these audiences (TokenReview): an API-server token is refused."""
    people_may_login: bool = True
    """A person's own API-server token (not bound to `lulea`: static tokens, OIDC) may ask for
    that person's member certificate (`lulea login`); service accounts never, and only for a
    project whose Project object lists them."""
    member_csr_lifetime_hours: float = Field(24.0, gt=0.0, le=24.0 * 30)
    """Member certificates signed from a member's own CSR (a laptop's) live this long at most."""
    consume_events: bool = True
    consumer_group: str = "lulea-ca"

    @property
    def lifetime(self) -> dt.timedelta:
        return dt.timedelta(days=self.lifetime_days)

    @property
    def member_csr_lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=self.member_csr_lifetime_hours)

    @property
    def crl_validity(self) -> dt.timedelta:
        return dt.timedelta(hours=self.crl_validity_hours)

    @model_validator(mode="after")
    def _keys_somewhere(self) -> Self:
        if self.key_dir is not None and not (self.key_dir / "intermediate.key").exists():
            raise ValueError(f"key_dir {self.key_dir} holds no intermediate.key: run init")
        if self.crl_url is not None and not self.crl_url.startswith("http://"):
            raise ValueError("crl_url must be an http:// URL (RFC 5280 CRL distribution)")
        if not self.token_audiences:
            raise ValueError("token_audiences must name at least one audience (tokens must be bound)")
        return self
