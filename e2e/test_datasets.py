"""Datasets end to end: the operator makes the root and reports usage and share states; who
may do what is a table (owner, scientist, outsider, a member of p2 before and after p2's
DataOwner accepts, write only with ReadWrite, after unsharing, a late joiner of p2, a removed
member), checked through the running storage service with each member's own certificate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kubernetes_asyncio import client as k8s

from lulea.devstack.endpoints import Stack

from .datasets import (
    accept_shares,
    create_dataset,
    patch_dataset,
    put_file,
    remote,
    wait_dataset,
    webhdfs,
)
from .identities import MemberFiles, member_files
from .projects import create_project, delete_project, set_members, unique, wait_ready

pytestmark = pytest.mark.timeout(600)


@dataclass
class Projects:
    p1: str
    p2: str
    p3: str
    where: Path


@pytest.fixture(scope="module")
async def projects(admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[Projects]:
    p1, p2, p3 = unique("dsa"), unique("dsb"), unique("dsc")
    await create_project(admin_api, p1, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await create_project(admin_api, p2, [("carol", "DataOwner")])
    await create_project(admin_api, p3, [("erin", "DataOwner")])
    try:
        for p in (p1, p2, p3):
            await wait_ready(admin_api, p)
        yield Projects(p1, p2, p3, tmp_path_factory.mktemp("dataset-members"))
    finally:
        for p in (p1, p2, p3):
            await delete_project(admin_api, p, wait=False)


def _read(client: httpx.Client, root: str) -> int:
    return client.get(f"{root}/seed.txt", params={"op": "OPEN"}).status_code


def _list(client: httpx.Client, root: str) -> int:
    return client.get(root, params={"op": "LISTSTATUS"}).status_code


def _write(client: httpx.Client, root: str) -> int:
    return put_file(client, f"{root}/w-{time.monotonic_ns()}", b"w").status_code


def _manage(client: httpx.Client, root: str) -> int:
    return client.put(f"{root}/seed.txt", params={"op": "SETPERMISSION", "permission": "640"}).status_code


OPS: dict[str, Callable[[httpx.Client, str], int]] = {"read": _read, "list": _list, "write": _write,
                                                     "manage": _manage}


def _row(stack: Stack, member: MemberFiles, root: str) -> dict[str, int]:
    with webhdfs(stack, member) as client:
        return {op: fn(client, root) for op, fn in OPS.items()}


async def _eventually_row(stack: Stack, member: MemberFiles, root: str, want: dict[str, int],
                          timeout: float = 20, refused: bool = False) -> dict[str, int]:
    """The storage service follows the API server by a watch: allow it a few seconds.
    `refused`: a revoked certificate's 401 counts as the refusal too (see the removed member)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await asyncio.to_thread(_row, stack, member, root)
        done = set(got.values()) <= {401, 404} if refused else got == want
        if done or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.5)


OWNER = {"read": 200, "list": 200, "write": 201, "manage": 200}
SCIENTIST = {"read": 200, "list": 200, "write": 201, "manage": 403}
READER = {"read": 200, "list": 200, "write": 403, "manage": 403}
WRITER = {"read": 200, "list": 200, "write": 201, "manage": 403}
NOBODY = {"read": 404, "list": 404, "write": 404, "manage": 404}


async def test_rights_matrix_with_the_share_handshake(projects: Projects, stack: Stack,
                                                      admin_api: k8s.ApiClient) -> None:
    p1, p2, p3 = projects.p1, projects.p2, projects.p3
    await create_dataset(admin_api, p1, "shared", shares=[{"project": p2, "access": "ReadOnly"}])
    await create_dataset(admin_api, p1, "rw", shares=[{"project": p2, "access": "ReadWrite"}])
    shared, rw = f"/Projects/{p1}/shared", f"/Projects/{p1}/rw"
    obj = await wait_dataset(admin_api, p1, "shared")
    assert obj["status"]["shares"] == [{"project": p2, "access": "ReadOnly", "state": "Pending"}]
    assert obj["status"]["path"] == shared
    await wait_dataset(admin_api, p1, "rw")
    alice = await member_files(admin_api, p1, "alice", projects.where)
    bob = await member_files(admin_api, p1, "bob", projects.where)
    carol = await member_files(admin_api, p2, "carol", projects.where)
    erin = await member_files(admin_api, p3, "erin", projects.where)
    with webhdfs(stack, alice) as client:
        for root in (shared, rw):
            assert put_file(client, f"{root}/seed.txt", b"seed").status_code == 201

    table: list[tuple[str, MemberFiles, str, dict[str, int]]] = [
        ("owner", alice, shared, OWNER),
        ("scientist", bob, shared, SCIENTIST),
        ("outsider", erin, shared, NOBODY),
        ("p2 before acceptance", carol, shared, NOBODY),
        ("p2 before acceptance, ReadWrite share", carol, rw, NOBODY),
    ]
    await _check(stack, table)

    await accept_shares(admin_api, p2, [f"{p1}/shared", f"{p1}/rw"])
    await _check(stack, [("p2 after acceptance", carol, shared, READER),
                         ("p2 after acceptance, ReadWrite share", carol, rw, WRITER),
                         ("outsider still", erin, shared, NOBODY)])
    obj = await wait_dataset(admin_api, p1, "shared",
                             until=lambda o: o["status"]["shares"][0]["state"] == "Accepted")
    assert obj["status"]["shares"] == [{"project": p2, "access": "ReadOnly", "state": "Accepted"}]

    # dave joins p2 after the acceptance: the accepted share covers him too
    await set_members(admin_api, p2, [("carol", "DataOwner"), ("dave", "DataScientist")])
    dave = await member_files(admin_api, p2, "dave", projects.where)
    await _check(stack, [("late joiner of p2", dave, shared, READER)])

    # unsharing takes the access away; so does un-accepting
    await patch_dataset(admin_api, p1, "shared", {"spec": {"shares": None}})
    await accept_shares(admin_api, p2, [f"{p1}/shared"])
    await _check(stack, [("p2 after unsharing", carol, shared, NOBODY),
                         ("p2 after un-accepting", carol, rw, NOBODY),
                         ("late joiner after unsharing", dave, shared, NOBODY)])
    # a member removed from p1 is refused within seconds, with the certificate still in hand.
    # Two independent mechanisms refuse him, in an order no one controls: the storage service's
    # Project watch (he is nobody in p1: 404 for everything, as for any outsider) and the CA's
    # revocation of his certificate, which the service's CRL (refreshed every second) turns into
    # 401 SecurityException before any path is looked at. Either is a refusal that reveals
    # nothing; once revoked it is 401 for good, so the row must accept both (a test that wanted
    # only 404 failed whenever the CRL refresh came first).
    await set_members(admin_api, p1, [("alice", "DataOwner")])
    got = await _eventually_row(stack, bob, shared, NOBODY, refused=True)
    assert set(got.values()) <= {401, 404}, got


async def _check(stack: Stack, table: list[tuple[str, MemberFiles, str, dict[str, int]]]) -> None:
    failures = []
    for who, member, root, want in table:
        got = await _eventually_row(stack, member, root, want)
        if got != want:
            failures.append((who, got, want))
    assert not failures, failures


async def test_listings_show_only_what_the_caller_may_see(projects: Projects, stack: Stack,
                                                          admin_api: k8s.ApiClient) -> None:
    await create_dataset(admin_api, projects.p3, "private")
    await wait_dataset(admin_api, projects.p3, "private")
    erin = await member_files(admin_api, projects.p3, "erin", projects.where)
    alice = await member_files(admin_api, projects.p1, "alice", projects.where)
    with webhdfs(stack, alice) as client:
        names = {s["pathSuffix"] for s in client.get("/Projects", params={"op": "LISTSTATUS"})
                 .json()["FileStatuses"]["FileStatus"]}
        assert projects.p3 not in names
        assert remote(client.get(f"/Projects/{projects.p3}/private", params={"op": "GETFILESTATUS"})) == (
            404, "FileNotFoundException")
        assert remote(client.get(f"/Projects/{projects.p3}/nonexistent", params={"op": "GETFILESTATUS"})) == (
            404, "FileNotFoundException")
    with webhdfs(stack, erin) as client:
        names = {s["pathSuffix"] for s in client.get("/Projects", params={"op": "LISTSTATUS"})
                 .json()["FileStatuses"]["FileStatus"]}
        assert projects.p3 in names and projects.p1 not in names
        home = client.get("/", params={"op": "GETHOMEDIRECTORY"}).json()
        assert home == {"Path": f"/Projects/{projects.p3}"}


async def test_bearer_tokens_are_reviewed(projects: Projects, stack: Stack) -> None:
    """A bearer token counts only as what TokenReview (audience `lulea`) says it is."""
    from .identities import platform_token

    token = platform_token(stack, "operator-dataset")  # a platform token: sees everything
    with webhdfs(stack, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/Projects", params={"op": "LISTSTATUS"}).status_code == 200
    with webhdfs(stack, headers={"Authorization": "Bearer not-a-token"}) as client:
        assert remote(client.get("/Projects", params={"op": "LISTSTATUS"})) == (401, "SecurityException")
