"""Lulea's custom resources (`lulea.io/v1alpha1`) as pydantic models: the one source of truth.

`python -m lulea.core.crds generate` writes the CRDs under `crds/` and `charts/lulea/crds/`
from these models; operators read specs and write statuses with the same models.
"""

from lulea.core.compatibility import Compatibility
from lulea.core.crds.dataset import (
    Dataset,
    DatasetAccess,
    DatasetQuota,
    DatasetShare,
    DatasetSpec,
    DatasetStatus,
)
from lulea.core.crds.gpujob import EnvVar, GpuJob, GpuJobSpec, GpuJobStatus, Phase, Topology
from lulea.core.crds.meta import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    ConditionStatus,
    ObjectMeta,
    Status,
)
from lulea.core.crds.project import Member, Project, ProjectSpec, ProjectStatus, Quotas, Role
from lulea.core.crds.topic import (
    Topic,
    TopicAccess,
    TopicShare,
    TopicSpec,
    TopicStatus,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Compatibility",
    "Condition",
    "ConditionStatus",
    "Dataset",
    "DatasetAccess",
    "DatasetQuota",
    "DatasetShare",
    "DatasetSpec",
    "DatasetStatus",
    "EnvVar",
    "GpuJob",
    "GpuJobSpec",
    "GpuJobStatus",
    "Member",
    "ObjectMeta",
    "Phase",
    "Project",
    "ProjectSpec",
    "ProjectStatus",
    "Quotas",
    "Role",
    "Status",
    "Topic",
    "TopicAccess",
    "TopicShare",
    "TopicSpec",
    "TopicStatus",
    "Topology",
]
