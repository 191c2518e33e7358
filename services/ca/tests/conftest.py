from __future__ import annotations

from typing import Any

import pytest

from lulea.ca.domain.hierarchy import Hierarchy, create_intermediate, create_root


@pytest.fixture(scope="session")
def hierarchy() -> Hierarchy:
    root = create_root()
    return Hierarchy(root=root.cert, intermediate=create_intermediate(root))


def ca_state(hierarchy: Hierarchy, authenticate: Any, roles: dict[tuple[str, str], str] | None = None
             ) -> Any:
    """The CA's state over memory stores; `roles` stands for the Project objects."""
    from lulea.ca.api.deps import CaState
    from lulea.ca.domain.crl import CurrentCrl
    from lulea.ca.domain.membership import MemberCertificates
    from lulea.ca.store.memory import MemoryEvents, MemoryRecords, MemorySecrets

    records = MemoryRecords()
    crl = CurrentCrl(hierarchy.intermediate, records)
    members = MemberCertificates(hierarchy, records, MemorySecrets(), MemoryEvents(), on_revoked=crl.refresh)
    known = dict(roles or {})
    return CaState(hierarchy=hierarchy, records=records, crl=crl, members=members,
                   authenticate=authenticate, platform_namespaces=frozenset({"lulea-system"}),
                   role_of=lambda project, user: known.get((project, user)))
