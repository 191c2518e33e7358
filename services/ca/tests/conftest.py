from __future__ import annotations

import pytest

from lulea.ca.domain.hierarchy import Hierarchy, create_intermediate, create_root


@pytest.fixture(scope="session")
def hierarchy() -> Hierarchy:
    root = create_root()
    return Hierarchy(root=root.cert, intermediate=create_intermediate(root))
