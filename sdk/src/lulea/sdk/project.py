"""`login()` and the Project it returns: the one object a job's code starts from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from lulea.sdk.config import Config, resolve
from lulea.sdk.errors import NotConfigured, NotLoggedIn

if TYPE_CHECKING:  # each part imports its client library only when it is used
    from lulea.sdk.datasets import Datasets
    from lulea.sdk.kafka import Kafka
    from lulea.sdk.logs import Logs


@dataclass(frozen=True)
class Identity:
    project: str
    user: str
    principal: str  # `<project>__<user>`, the name Kafka and the services know
    job: str | None
    source: str  # "job" or the config directory
    not_after: dt.datetime | None  # the member certificate's end, if there is one


class Project:
    """The current project: `kafka`, `datasets`, `logs`, each built on first use."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.project

    def __repr__(self) -> str:
        return f"Project({self.name!r}, user={self.config.user!r}, source={self.config.source!r})"

    @cached_property
    def kafka(self) -> Kafka:
        from lulea.sdk.kafka import Kafka

        return Kafka(self.config)

    @cached_property
    def datasets(self) -> Datasets:
        from lulea.sdk.datasets import datasets

        return datasets(self.config)

    @cached_property
    def logs(self) -> Logs:
        from lulea.sdk.logs import Logs

        return Logs(self.config)

    def whoami(self) -> Identity:
        return identity(self.config)


def login(project: str | None = None, *, environ: Mapping[str, str] | None = None) -> Project:
    """The current project: inside a job the job's (no arguments needed), on a laptop the one
    `lulea login` saved (`project=` picks another saved login)."""
    config = resolve(project, environ)
    cert = config.certificate
    if cert is not None and not config.in_job:
        if not cert.cert.exists():
            raise NotLoggedIn(f"the certificate of your login to {config.project} is missing; "
                              f"run `lulea login --project {config.project}`")
        if cert.not_after <= dt.datetime.now(dt.UTC):
            raise NotLoggedIn(f"your certificate for {config.project} expired at "
                              f"{cert.not_after:%Y-%m-%d %H:%M} UTC; run `lulea login --project "
                              f"{config.project}`")
    return Project(config)


def whoami(project: str | None = None, *, environ: Mapping[str, str] | None = None) -> Identity:
    return identity(resolve(project, environ))


def identity(config: Config) -> Identity:
    cert = config.certificate
    not_after = cert.not_after if cert is not None and cert.cert.exists() else None
    return Identity(project=config.project, user=config.user, principal=config.principal, job=config.job,
                    source=config.source, not_after=not_after)


def need(value: str | None, what: str, variable: str) -> str:
    """An endpoint a part needs, or an error that says where it should have come from."""
    if not value:
        raise NotConfigured(f"the {what} endpoint is not known: inside a job the platform sets "
                            f"{variable}; on a laptop run `lulea login` again (or set {variable})")
    return value
