"""Grants in Location URLs: signed, for exactly one path and operation, short-lived."""

from __future__ import annotations

import time

import pytest

from lulea.storage.namespace.errors import StorageError
from lulea.storage.namespace.tokens import Signer

CALLER = {"u": "alice", "p": "p1", "pl": False}


def test_a_grant_is_for_its_path_and_op_only() -> None:
    signer = Signer(b"k" * 32)
    grant = signer.grant(CALLER, "CREATE", "/Projects/p1/raw/f", {"overwrite": "true"})
    assert signer.check_grant(grant, "CREATE", "/Projects/p1/raw/f") == (CALLER, {"overwrite": "true"})
    for op, path in (("APPEND", "/Projects/p1/raw/f"), ("CREATE", "/Projects/p1/raw/g")):
        with pytest.raises(StorageError):
            signer.check_grant(grant, op, path)
    with pytest.raises(StorageError):
        Signer(b"x" * 32).check_grant(grant, "CREATE", "/Projects/p1/raw/f")
    body, _, mac = grant.partition(".")
    with pytest.raises(StorageError):
        signer.check_grant(body[:-2] + "AA." + mac, "CREATE", "/Projects/p1/raw/f")


def test_an_expired_grant_is_refused() -> None:
    signer = Signer(b"k" * 32)
    token = signer.sign({"k": "grant", "c": CALLER, "o": "CREATE", "p": "/x", "exp": int(time.time()) - 1})
    with pytest.raises(StorageError):
        signer.check_grant(token, "CREATE", "/x")
