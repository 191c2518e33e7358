"""Shares: a dataset or topic opened to another project, shared by Dataset and Topic."""

from __future__ import annotations

from collections.abc import Sequence

from lulea.core.crds.meta import DNS_LABEL, Rule

MAX_SHARES = 64


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
