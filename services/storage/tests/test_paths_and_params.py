"""Paths and parameters are checked where a request enters: one row per bad input."""

from __future__ import annotations

import pytest

from lulea.storage.api import params as P
from lulea.storage.namespace.errors import Hadoop, StorageError
from lulea.storage.namespace.paths import Path


@pytest.mark.parametrize(("raw", "parts"), [
    ("/", ()),
    ("/Projects/p1/raw/", ("Projects", "p1", "raw")),
    ("/Projects/p1/raw/a%20b.csv", ("Projects", "p1", "raw", "a b.csv")),
    ("/Projects/p1/raw/%C3%A5.txt", ("Projects", "p1", "raw", "å.txt")),
])
def test_good_paths(raw: str, parts: tuple[str, ...]) -> None:
    assert Path.parse(raw).parts == parts


@pytest.mark.parametrize("raw", [
    "relative", "/a/../b", "/a/./b", "/a//b", "/a%2Fb", "/a%00b", "/a:b", "/" + "x" * 256, "/%ff",
])
def test_bad_paths(raw: str) -> None:
    with pytest.raises(StorageError) as caught:
        Path.parse(raw)
    assert caught.value.kind is Hadoop.INVALID_PATH


def test_path_parts_name_project_and_dataset() -> None:
    path = Path.parse("/Projects/p1/raw/a/b")
    assert (path.project, path.dataset, path.name) == ("p1", "raw", "b")
    assert str(path.parent) == "/Projects/p1/raw/a"
    assert Path.parse("/Projects").project is None


@pytest.mark.parametrize(("method", "op"), [("GET", "NOSUCH"), ("PUT", "OPEN"), ("DELETE", "MKDIRS"),
                                            ("PATCH", "OPEN")])
def test_unknown_or_misplaced_ops(method: str, op: str) -> None:
    with pytest.raises(StorageError) as caught:
        P.op_of(method, {"op": op})
    assert caught.value.kind is Hadoop.ILLEGAL_ARGUMENT


def test_op_is_case_insensitive() -> None:
    assert P.op_of("GET", {"op": "liststatus"}) == "LISTSTATUS"


@pytest.mark.parametrize(("value", "ok"), [("644", "644"), ("1777", "1777"), ("0", "0"), ("999", None),
                                           ("17777", None), ("-1", None), ("rw", None)])
def test_permissions(value: str, ok: str | None) -> None:
    if ok is None:
        with pytest.raises(StorageError):
            P.permission({"permission": value}, "644")
    else:
        assert P.permission({"permission": value}, "644") == ok


@pytest.mark.parametrize("value", ["-1", "abc", str(2**63)])
def test_bad_offsets(value: str) -> None:
    with pytest.raises(StorageError) as caught:
        P.integer({"offset": value}, "offset", 0)
    assert caught.value.kind is Hadoop.ILLEGAL_ARGUMENT


def test_remote_exception_shape() -> None:
    error = StorageError(Hadoop.DS_QUOTA, "too much")
    assert error.remote_exception() == {"RemoteException": {
        "exception": "DSQuotaExceededException", "message": "too much",
        "javaClassName": "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException"}}
    assert error.kind.status == 403
