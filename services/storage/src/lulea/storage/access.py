"""Who may do what under `/Projects/<project>/<dataset>/...` (pure; docs/storage.md has the table).

Modelled on Hopsworks: a project's DataOwners read, write and manage its datasets (permissions,
owners); its DataScientists read and write inside them; a project that *accepted* a share
reads (ReadOnly) or reads and writes (ReadWrite) inside that one dataset. Dataset roots are
made and removed by the Dataset operator (the platform), quotas only by it. Anyone else sees
nothing: their requests answer FileNotFoundException, the same as for a path that does not
exist, so nobody can probe another project.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from lulea.storage.namespace.errors import denied, not_found
from lulea.storage.namespace.paths import Path


class Level(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    MANAGE = 3
    PLATFORM = 4


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. A certificate or a project service account speaks for one
    project (`project`); a person's token for every project the person is a member of."""

    user: str
    project: str | None = None
    platform: bool = False

    @property
    def owner(self) -> str:
        return f"{self.project}__{self.user}" if self.project else self.user


class Directory(Protocol):
    def role(self, project: str, user: str) -> str | None: ...

    def projects_of(self, user: str) -> list[str]: ...

    def share(self, owner_project: str, dataset: str, target: str) -> str | None:
        """'ReadOnly'/'ReadWrite' when `target` has accepted the share, else None."""

    def datasets_of(self, project: str) -> list[str]: ...


def acting_projects(caller: Caller, directory: Directory) -> list[str]:
    """The projects a caller acts for (a certificate's project only while still a member)."""
    if caller.project is not None:
        return [caller.project] if directory.role(caller.project, caller.user) else []
    return directory.projects_of(caller.user)


def level(caller: Caller, path: Path, directory: Directory) -> Level:
    if caller.platform:
        return Level.PLATFORM
    project = path.project
    if project is None:
        return Level.READ  # `/` and `/Projects`: listings are filtered to what the caller sees
    mine = acting_projects(caller, directory)
    if project in mine:
        role = directory.role(project, caller.user)
        return Level.MANAGE if role == "DataOwner" else Level.WRITE
    dataset = path.dataset
    if dataset is None:
        # /Projects/<p> of a project that shares something with one of mine: visible, read-only
        return Level.READ if any(directory.share(project, d, q) for q in mine
                                 for d in directory.datasets_of(project)) else Level.NONE
    best = Level.NONE
    for target in mine:
        access = directory.share(project, dataset, target)
        if access == "ReadWrite":
            return Level.WRITE
        if access == "ReadOnly":
            best = Level.READ
    return best


def visible(caller: Caller, path: Path, directory: Directory) -> bool:
    return level(caller, path, directory) > Level.NONE


def require(caller: Caller, path: Path, directory: Directory, needed: Level, *, why: str = "") -> Level:
    """The caller's level on `path`, or FileNotFound (cannot see) / AccessControl (may not)."""
    have = level(caller, path, directory)
    if have == Level.NONE:
        raise not_found(str(path))
    if have < needed:
        raise denied(f"Permission denied: user={caller.owner}, access={needed.name}, path={path}"
                     + (f": {why}" if why else ""))
    return have


def require_inside_dataset(caller: Caller, path: Path, directory: Directory, needed: Level) -> Level:
    """Writes go inside a dataset; roots and projects are the platform's (Dataset objects)."""
    have = require(caller, path, directory, needed)
    if have < Level.PLATFORM and len(path.parts) < 4:
        raise denied(f"Permission denied: {path} is not inside a dataset; datasets are made and"
                     " removed as Dataset objects (kubectl apply), not through WebHDFS")
    return have
