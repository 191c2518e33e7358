"""Dataset: a directory tree in project storage, with a quota and shares."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from lulea.core.crds.meta import CRModel, ObjectMeta, ProjectName, Status, list_map
from lulea.core.crds.share import MAX_SHARES, check_unique_projects, name_rules


class DatasetAccess(StrEnum):
    READ_ONLY = "ReadOnly"
    READ_WRITE = "ReadWrite"


class DatasetShare(CRModel):
    """Another project that may use this dataset."""

    project: ProjectName
    """The project the dataset is shared with (not the owning project)."""
    access: DatasetAccess = DatasetAccess.READ_ONLY
    """`ReadOnly` (default) or `ReadWrite`."""


class DatasetQuota(CRModel):
    """Limits for this dataset; absent means only the project quota applies."""

    bytes: int | None = Field(default=None, ge=0, json_schema_extra={"format": "int64"})
    """Bytes the dataset may hold."""
    files: int | None = Field(default=None, ge=0, json_schema_extra={"format": "int64"})
    """Files and directories (inodes) the dataset may hold."""


class DatasetSpec(CRModel):
    """A dataset a project owns."""

    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    """What the data is."""
    quota: DatasetQuota | None = None
    """Size limits of this dataset."""
    shares: list[DatasetShare] = Field(
        default_factory=list, max_length=MAX_SHARES, json_schema_extra=list_map("project")
    )
    """Projects this dataset is shared with, each at most once."""

    @model_validator(mode="after")
    def _unique_shares(self) -> Self:
        check_unique_projects([s.project for s in self.shares])
        return self


class ShareState(StrEnum):
    PENDING = "Pending"
    ACCEPTED = "Accepted"


class DatasetShareStatus(CRModel):
    """Where one offered share stands: accepted by a DataOwner of the target project or not."""

    project: ProjectName
    access: DatasetAccess
    state: ShareState


class DatasetStatus(Status):
    """What the dataset operator has made real."""

    path: Annotated[str, StringConstraints(max_length=1024)] | None = None
    """The dataset root in project storage, e.g. `/Projects/p1/raw`."""
    used_bytes: int | None = Field(default=None, ge=0, json_schema_extra={"format": "int64"})
    """Bytes stored, as last reported by the storage service."""
    files: int | None = Field(default=None, ge=0, json_schema_extra={"format": "int64"})
    """Files and directories below the root, as last reported by the storage service."""
    shares: list[DatasetShareStatus] = Field(
        default_factory=list, max_length=MAX_SHARES, json_schema_extra=list_map("project"))
    """Each offered share and whether the target project has accepted it."""


class Dataset(CRModel):
    """A whole Dataset object as the API server returns it."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = "lulea.io/v1alpha1"
    kind: str = "Dataset"
    metadata: ObjectMeta
    spec: DatasetSpec = Field(default_factory=DatasetSpec)
    status: DatasetStatus | None = None


ROOT_RULES = name_rules("dataset", why=": it names the dataset's directory")
