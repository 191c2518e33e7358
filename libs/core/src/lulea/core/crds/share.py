"""Shares: a dataset or topic opened to another project, shared by Dataset and Topic."""

from __future__ import annotations

from collections.abc import Sequence

from lulea.core.crds.meta import DNS_LABEL, Rule

MAX_SHARES = 64
MAX_ACCEPTED = 256
#: An accepted share on the target Project: `<project>/<dataset>`, or `<project>/*` for every
#: dataset that project shares with this one (now or later).
ACCEPTED_SHARE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$"


def share_accepted(accepted: Sequence[str], owner_project: str, name: str) -> bool:
    """Has the target project accepted the share of `owner_project`'s `name`? (Its DataOwners
    list `<owner_project>/<name>` or `<owner_project>/*` in spec.acceptedShares.)"""
    return f"{owner_project}/{name}" in accepted or f"{owner_project}/*" in accepted


def name_rules(kind: str, max_length: int = 63, why: str = "") -> tuple[Rule, ...]:
    """Root rules making `metadata.name` a DNS label of at most `max_length` characters."""
    return (
        Rule(
            f"size(self.metadata.name) <= {max_length} && self.metadata.name.matches('{DNS_LABEL}')",
            f"a {kind} name must be a DNS label (lowercase letters, digits and '-', starting and"
            f" ending with a letter or digit, at most {max_length} characters){why}",
        ),
    )


def check_unique_projects(projects: Sequence[str]) -> None:
    """The Python side of the list-map rule (the API server refuses duplicate keys itself)."""
    if len(projects) != len(set(projects)):
        raise ValueError("each project may appear only once in shares")
