"""The PostgreSQL index migration's pure parts: fixed index names (what makes it idempotent
across restarts and replicas), DSNs kept out of log lines, and the no-DSN path doing nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from lulea.storage.postgres_indexes import NAMESPACE_INDEXES, index_name, make_namespace_indexes, where


def test_index_names_are_fixed_per_collection_and_field() -> None:
    names = [index_name(c, f) for c, fields in NAMESPACE_INDEXES.items() for f in fields]
    assert names == ["lulea_gin_inodes_id", "lulea_gin_inodes_parent", "lulea_gin_blocks_id",
                     "lulea_gin_journal_id", "lulea_gin_delegation_tokens_id"]
    assert len(set(names)) == len(names)
    assert index_name("inodes", "a.b") == "lulea_gin_inodes_a_b"
    with pytest.raises(ValueError, match="63"):
        index_name("c" * 60, "_id")


@pytest.mark.parametrize(("dsn", "shown"), [
    ("postgres://postgres:s3cret@db.example:5433/ferretdb", "db.example:5433/ferretdb"),
    ("host=10.0.0.7 port=6432 dbname=ferretdb user=lulea password=s3cret", "10.0.0.7:6432/ferretdb"),
    ("postgres://u@127.0.0.1/ferretdb", "127.0.0.1:5432/ferretdb"),
    ("host='unterminated", "<an unparsable DSN>"),
])
def test_a_dsn_is_logged_without_its_password(dsn: str, shown: str) -> None:
    assert where(dsn) == shown
    assert "s3cret" not in where(dsn)


async def test_without_a_dsn_nothing_is_made_and_that_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    class NoDatabase:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"touched the database: {name}")

    with caplog.at_level(logging.INFO, logger="lulea.storage.postgres_indexes"):
        assert await make_namespace_indexes(NoDatabase(), None) is True  # type: ignore[arg-type]
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "no PostgreSQL indexes made" in said[0] and "FerretDB#4646" in said[0]
