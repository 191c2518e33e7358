"""The stack's storage service (TLS, authorization on, as the chart runs it) on real FerretDB,
driven by clients nobody here wrote: pandas through fsspec's own `webhdfs` (with a member's
client certificate, and separately with a delegation token), and HdfsCLI (`hdfs`) with a
requests.Session carrying the member's certificate. Also: bad input answered in Hadoop's
RemoteException format and never 5xx, quotas exact under concurrency, nothing partial
visible, and a SIGKILLed service leaves a namespace that fsck finds clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pandas as pd
import pytest
import requests
from hdfs import Client as HdfsClient
from kubernetes_asyncio import client as k8s

from lulea.devstack import stack as devstack
from lulea.devstack.endpoints import Stack

from .datasets import create_dataset, delete_dataset, fsspec_options, put_file, remote, wait_dataset, webhdfs
from .identities import MemberFiles, member_files
from .projects import create_project, delete_project, unique, wait_ready


@dataclass
class World:
    project: str
    outsider_project: str
    alice: MemberFiles  # DataOwner of `project`
    bob: MemberFiles  # DataScientist of `project`
    dave: MemberFiles  # DataOwner of another project
    dataset: str

    @property
    def root(self) -> str:
        return f"/Projects/{self.project}/{self.dataset}"


@pytest.fixture(scope="module", autouse=True)
def requests_trusts_the_platform(stack: Stack) -> Iterator[None]:
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's own `verify`
    (fsspec's session_verify, HdfsCLI's session): point them at the platform root here."""
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    for key in saved:
        os.environ[key] = str(stack.trust_file)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
async def world(admin_api: k8s.ApiClient, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    name, other = unique("stp"), unique("sto")
    await create_project(admin_api, name, [("alice", "DataOwner"), ("bob", "DataScientist")])
    await create_project(admin_api, other, [("dave", "DataOwner")])
    try:
        await wait_ready(admin_api, name)
        await wait_ready(admin_api, other)
        await create_dataset(admin_api, name, "raw")
        await wait_dataset(admin_api, name, "raw")
        where = tmp_path_factory.mktemp("storage-members")
        yield World(name, other, await member_files(admin_api, name, "alice", where),
                    await member_files(admin_api, name, "bob", where),
                    await member_files(admin_api, other, "dave", where), "raw")
    finally:
        await delete_project(admin_api, name, wait=False)
        await delete_project(admin_api, other, wait=False)


pytestmark = pytest.mark.timeout(900)

FRAME = pd.DataFrame({"id": [1, 2, 3], "city": ["Luleå", "Kiruna", "Umeå"], "t": [-3.5, -12.0, 1.25]})


def test_pandas_csv_and_parquet_with_client_certificate(world: World, stack: Stack) -> None:
    options = fsspec_options(stack, world.alice)
    for name, write, read in (("cities.csv", lambda p: FRAME.to_csv(p, index=False, storage_options=options),
                               lambda p: pd.read_csv(p, storage_options=options)),
                              ("cities.parquet", lambda p: FRAME.to_parquet(p, storage_options=options),
                               lambda p: pd.read_parquet(p, storage_options=options))):
        url = f"webhdfs://{world.root}/pandas/{name}"
        write(url)
        pd.testing.assert_frame_equal(read(url), FRAME)
    fs = fsspec.filesystem("webhdfs", skip_instance_cache=True, **options)
    listed = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{world.root}/pandas"))
    assert listed == ["cities.csv", "cities.parquet"]
    assert fs.info(f"{world.root}/pandas/cities.csv")["type"] == "file"


def test_pandas_with_a_delegation_token_and_no_certificate(world: World, stack: Stack) -> None:
    with webhdfs(stack, world.bob) as bob:
        answer = bob.get("/", params={"op": "GETDELEGATIONTOKEN", "renewer": "bob"})
        assert answer.status_code == 200, answer.text
        token = answer.json()["Token"]["urlString"]
    options = fsspec_options(stack, token=token)
    url = f"webhdfs://{world.root}/token/frame.parquet"
    FRAME.to_parquet(url, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_parquet(url, storage_options=options), FRAME)
    fs = fsspec.filesystem("webhdfs", skip_instance_cache=True, **options)
    assert fs.info(f"{world.root}/token/frame.parquet")["size"] > 0
    # renew, then cancel: the token stops working at once
    with webhdfs(stack, world.bob) as bob:
        assert bob.put("/", params={"op": "RENEWDELEGATIONTOKEN", "token": token}).json()["long"] > 0
        with webhdfs(stack, world.dave) as dave:  # not his token
            assert remote(dave.put("/", params={"op": "CANCELDELEGATIONTOKEN", "token": token}))[0] == 403
        assert bob.put("/", params={"op": "CANCELDELEGATIONTOKEN", "token": token}).status_code == 200
    with webhdfs(stack) as anonymous:
        answer = anonymous.get(f"{world.root}/token/frame.parquet", params={"op": "GETFILESTATUS",
                                                                             "delegation": token})
        assert remote(answer) == (401, "SecurityException")


def _session(stack: Stack, member: MemberFiles) -> requests.Session:
    session = requests.Session()
    session.cert = (str(member.cert), str(member.key))
    session.verify = str(stack.trust_file)
    return session


def test_hdfscli_uploads_lists_renames_downloads_and_deletes_a_tree(world: World, stack: Stack,
                                                                    tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "top.txt").write_text("top\n")
    (tree / "a" / "one.bin").write_bytes(os.urandom(70_000))  # past the inline limit
    (tree / "a" / "b" / "two.txt").write_text("two\n" * 1000)
    client = HdfsClient(stack.storage_url, session=_session(stack, world.bob))
    target = f"{world.root}/hdfscli/tree"
    client.upload(target, str(tree), n_threads=2)
    walked = sorted(os.path.relpath(os.path.join(d, f), target)
                    for d, _, files in client.walk(target) for f in files)
    assert walked == ["a/b/two.txt", "a/one.bin", "top.txt"]
    assert client.status(f"{target}/a/one.bin")["length"] == 70_000
    assert client.content(target)["fileCount"] == 3
    client.rename(target, f"{world.root}/hdfscli/moved")
    assert client.status(target, strict=False) is None
    out = tmp_path / "out"
    client.download(f"{world.root}/hdfscli/moved", str(out), n_threads=2)
    for rel in ("top.txt", "a/one.bin", "a/b/two.txt"):
        assert (out / rel).read_bytes() == (tree / rel).read_bytes()
    with client.read(f"{world.root}/hdfscli/moved/a/one.bin", offset=10, length=20) as reader:
        assert reader.read() == (tree / "a" / "one.bin").read_bytes()[10:30]
    assert client.delete(f"{world.root}/hdfscli/moved", recursive=True) is True
    assert client.status(f"{world.root}/hdfscli/moved", strict=False) is None
    assert client.delete(f"{world.root}/hdfscli/moved", recursive=True) is False


def test_user_name_alone_grants_nothing(world: World, stack: Stack) -> None:
    with webhdfs(stack) as anonymous:
        for params in ({"op": "LISTSTATUS", "user.name": "alice"},
                       {"op": "LISTSTATUS", "user.name": f"{world.project}__alice"},
                       {"op": "LISTSTATUS", "delegation": "forged.token"}):
            assert remote(anonymous.get(world.root, params=params)) == (401, "SecurityException")


BAD_INPUT = [
    # (method, raw path after /webhdfs/v1, query, status, exception)
    ("GET", "/{root}/../x", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/./x", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/a%2Fb", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/a%00b", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/a:b", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/" + "n" * 256, "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}/%ff%fe", "op=GETFILESTATUS", 400, "InvalidPathException"),
    ("GET", "/{root}", "op=NOSUCHOP", 400, "IllegalArgumentException"),
    ("GET", "/{root}", "", 400, "IllegalArgumentException"),
    ("PUT", "/{root}", "op=OPEN", 400, "IllegalArgumentException"),
    ("DELETE", "/{root}", "op=MKDIRS", 400, "IllegalArgumentException"),
    ("GET", "/{root}/f.txt", "op=OPEN&offset=-1", 400, "IllegalArgumentException"),
    ("GET", "/{root}/f.txt", "op=OPEN&length=-5", 400, "IllegalArgumentException"),
    ("GET", "/{root}/f.txt", "op=OPEN&offset=abc", 400, "IllegalArgumentException"),
    ("GET", "/{root}/f.txt", "op=OPEN&offset=99999999999999999999999", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=CREATE&overwrite=maybe", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=SETPERMISSION&permission=999", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=SETPERMISSION&permission=77777", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=SETREPLICATION&replication=0", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=RENAME", 400, "IllegalArgumentException"),
    ("PUT", "/{root}/f.txt", "op=RENAME&destination=relative/x", 400, "InvalidPathException"),
    ("PUT", "/{root}/f.txt", "op=RENAME&destination=/{root}/../y", 400, "InvalidPathException"),
    ("PUT", "/{root}/f.txt", "op=CREATE&grant=forged.grant", 401, "SecurityException"),
    ("PUT", "/{root}/f.txt", "op=SETACL&aclspec=user::rwx", 400, "UnsupportedOperationException"),
    ("POST", "/{root}/f.txt", "op=CONCAT&sources=/a", 400, "UnsupportedOperationException"),
    ("GET", "/{root}/missing", "op=GETFILESTATUS", 404, "FileNotFoundException"),
    ("GET", "/{root}/missing", "op=OPEN", 404, "FileNotFoundException"),
    ("GET", "/{root}", "op=OPEN", 404, "FileNotFoundException"),
    ("POST", "/{root}/missing", "op=APPEND", 404, "FileNotFoundException"),
    ("PUT", "/{root}/f.txt", "op=CREATE", 403, "FileAlreadyExistsException"),
    ("PUT", "/{root}/f.txt/sub", "op=MKDIRS", 403, "ParentNotDirectoryException"),
    ("PUT", "/{root}", "op=SETQUOTA&namespacequota=5", 403, "AccessControlException"),
    ("DELETE", "/{root}", "op=DELETE&recursive=true", 403, "AccessControlException"),
    ("PUT", "/Projects/{project}/newds", "op=MKDIRS", 403, "AccessControlException"),
    ("PUT", "/{root}/f.txt", "op=RENAME&destination=/Projects/{project}/escaped", 403,
     "AccessControlException"),
    ("PUT", "/tmp", "op=MKDIRS", 403, "AccessControlException"),
    ("PUT", "/Projects/{project}/no-such-dataset/x", "op=MKDIRS", 404, "FileNotFoundException"),
    ("PUT", "/Projects/{project}/no-such-dataset/x", "op=CREATE", 404, "FileNotFoundException"),
]


def test_bad_input_answers_the_right_remote_exception_never_5xx(world: World, stack: Stack) -> None:
    with webhdfs(stack, world.alice) as alice:
        assert put_file(alice, f"{world.root}/f.txt", b"x").status_code == 201
        failures = []
        for method, raw, query, status, exception in BAD_INPUT:
            path = raw.format(root=world.root.lstrip("/"), project=world.project).replace("//", "/")
            query = query.format(root=world.root.lstrip("/"), project=world.project)
            # raw target: no client-side normalisation of `..` or escapes
            target = f"/webhdfs/v1{path}" + (f"?{query}" if query else "")
            request = alice.build_request(method, f"{stack.storage_url}/webhdfs/v1/",
                                          extensions={"target": target.encode()})
            answer = alice.send(request)
            got = remote(answer)
            if got != (status, exception):
                failures.append((method, path, query, got, answer.text[:200]))
        assert not failures, failures
        # oversized: a request line far past what any op needs is refused (4xx, or the server
        # closes the connection before routing it), never a 5xx
        target = f"/webhdfs/v1{world.root}?op=LISTSTATUS&x={'y' * 200_000}"
        try:
            answer = alice.send(alice.build_request("GET", f"{stack.storage_url}/webhdfs/v1/",
                                                    extensions={"target": target.encode()}))
        except httpx.RemoteProtocolError:
            pass
        else:
            assert answer.status_code < 500


async def test_quota_exceeded_leaves_nothing_partly_written(world: World, stack: Stack,
                                                            admin_api: k8s.ApiClient) -> None:
    name = "tight"
    await _dataset(admin_api, world.project, name, {"bytes": 300_000, "files": 50})
    root = f"/Projects/{world.project}/{name}"
    with webhdfs(stack, world.alice) as alice:
        assert put_file(alice, f"{root}/small", os.urandom(100_000)).status_code == 201
        answer = put_file(alice, f"{root}/big", os.urandom(1_000_000))
        assert remote(answer) == (403, "DSQuotaExceededException"), answer.text
        assert remote(alice.get(f"{root}/big", params={"op": "GETFILESTATUS"}))[0] == 404
        # an append that would pass the limit: refused, the file keeps its old length
        first = alice.post(f"{root}/small", params={"op": "APPEND"})
        answer = alice.post(first.headers["location"], content=os.urandom(250_000))
        assert remote(answer) == (403, "DSQuotaExceededException")
        status = alice.get(f"{root}/small", params={"op": "GETFILESTATUS"}).json()["FileStatus"]
        assert status["length"] == 100_000
        summary = alice.get(root, params={"op": "GETCONTENTSUMMARY"}).json()["ContentSummary"]
        assert (summary["length"], summary["fileCount"], summary["spaceQuota"], summary["quota"]) == (
            100_000, 1, 300_000, 50)
    _assert_clean_here(_fsck(stack), root)


async def _dataset(api: k8s.ApiClient, project: str, name: str, quota: dict[str, int]) -> None:
    await create_dataset(api, project, name, quota=quota)
    await wait_dataset(api, project, name)


async def test_usage_exact_after_1000_concurrent_small_writes(world: World, stack: Stack,
                                                              admin_api: k8s.ApiClient) -> None:
    name = "burst"
    await _dataset(admin_api, world.project, name, {"bytes": 100 * 1000, "files": 1000})
    root = f"/Projects/{world.project}/{name}"
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=f"{stack.storage_url}/webhdfs/v1", verify=world.alice.tls(stack),
                                 timeout=120) as alice:
        async def write(i: int) -> int:
            async with limit:
                first = await alice.put(f"{root}/f{i:04d}", params={"op": "CREATE"})
                if first.status_code != 307:
                    return first.status_code
                done = await alice.put(first.headers["location"], content=b"x" * 1000)
                return done.status_code
        codes = await asyncio.gather(*(write(i) for i in range(1000)))
        assert sorted(set(codes)) == [201, 403]
        assert codes.count(201) == 100
        summary = (await alice.get(root, params={"op": "GETCONTENTSUMMARY"})).json()["ContentSummary"]
        assert (summary["length"], summary["fileCount"]) == (100 * 1000, 100)
    _assert_clean_here(_fsck(stack), root)
    obj = await wait_dataset(admin_api, world.project, name,
                             until=lambda o: o["status"].get("usedBytes") == 100_000)
    assert obj["status"]["files"] == 100


def _fsck(stack: Stack) -> dict[str, object]:
    env = {**os.environ, "LULEA_STORAGE_MONGO_URI": stack.mongo_uri,
           "LULEA_STORAGE_MONGO_DATABASE": "lulea_storage"}
    out = subprocess.run([sys.executable, "-m", "lulea.storage", "fsck"], env=env, capture_output=True,
                         text=True, timeout=300)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


FAULTS = ("pendingUploads", "deletesInProgress", "unfinishedOperations", "orphanBlocks",
          "danglingBlocks", "danglingParents", "staleMarks", "staleHolds")


def _assert_clean_here(report: dict[str, Any], root: str) -> None:
    """fsck reads the whole namespace, which the suite's other tests share with this one: every
    fault kind must be empty, and no dataset of this test may drift; another dataset's usage
    drift is printed (it is that test's, and counters may drift high after a kill) but not
    this test's verdict."""
    print(json.dumps(report, indent=1)[:4000])
    assert not [k for k in FAULTS if report.get(k)], report
    name = root.rsplit("/", 1)[1]
    mine = [d for d in report.get("usageDrift") or [] if d.get("name") == name]
    assert not mine, report


def _eventually_clean(stack: Stack, timeout: float = 120) -> dict[str, object]:
    """Until fsck is clean with nothing in progress either: the killed writer's journal entries
    count as in progress until its heartbeat is old enough to call it dead, then as faults
    until another writer has rolled them back or forward."""
    deadline = time.monotonic() + timeout
    while True:
        report = _fsck(stack)
        if (report["clean"] and not report.get("inProgress")) or time.monotonic() > deadline:
            return report
        time.sleep(2)


def _gin_indexes(stack: Stack) -> list[tuple[str, str, str]]:
    """(table, index, definition) of every GIN index in the service's schema."""
    import psycopg

    from lulea.devstack import postgres

    with psycopg.connect(postgres.url(stack.layout)) as conn:
        rows = conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes"
                            " WHERE schemaname = 'lulea_storage' AND indexdef LIKE '%USING gin%'"
                            " ORDER BY 1, 2").fetchall()
    return [(str(t), str(i), str(d)) for t, i, d in rows]


def test_the_service_makes_its_postgresql_indexes_once_across_restarts(world: World, stack: Stack) -> None:
    """On FerretDB/PostgreSQL the service (not a person) makes the GIN indexes FerretDB#4646 asks
    for, at start, one per table and expression, and a restart makes none twice."""
    from lulea.devstack import postgres

    if why := postgres.unavailable(stack.layout):
        pytest.skip(f"FerretDB runs on SQLite here ({why}): no PostgreSQL indexes to make")
    first = _gin_indexes(stack)
    # pg_indexes renders the key as "USING gin (((_jsonb -> '_id'::text)))": the column list's
    # parentheses around the expression's own; and no pending list (postgres_indexes.py)
    expressions = sorted((t.rsplit("_", 1)[0], d.split("USING gin", 1)[1].strip()) for t, _, d in first)
    off = " WITH (fastupdate=off)"
    assert expressions == [("blocks", f"(((_jsonb -> '_id'::text))){off}"),
                           ("delegation_tokens", f"(((_jsonb -> '_id'::text))){off}"),
                           ("inodes", f"(((_jsonb -> '_id'::text))){off}"),
                           ("inodes", f"(((_jsonb -> 'parent'::text))){off}"),
                           ("journal", f"(((_jsonb -> '_id'::text))){off}")], first
    log = stack.layout.log("storage")

    def said() -> list[str]:
        lines = log.read_text().splitlines()
        return [line for line in lines if "PostgreSQL indexes of the namespace" in line]

    before = set(said())  # the lines carry their time; a restart may start the log afresh

    def new() -> list[str]:
        return [line for line in said() if line not in before]

    devstack.kill(stack.layout, "storage")
    devstack.start_one(stack.layout, "storage")
    deadline = time.monotonic() + 60
    while not new() and time.monotonic() < deadline:  # made once the service serves
        time.sleep(0.5)
    assert _gin_indexes(stack) == first
    after = new()
    assert len(after) == 1 and after[0].count(" present") == 5 and " created" not in after[0], after


SEED = int(os.environ.get("LULEA_E2E_SEED", "1515"))


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_sigkill_during_a_200_mib_upload_and_a_10000_file_delete(world: World,
                                                                       stack: Stack) -> None:
    """Seeded SIGKILLs (LULEA_E2E_SEED): three during 200 MiB uploads, at a random MiB each, and
    three while a 10,000-file recursive delete is being reclaimed, each at a random moment;
    after each restart the upload is absent or whole and, in the end, fsck finds nothing."""
    rng = random.Random(SEED)
    print(f"LULEA_E2E_SEED={SEED}")
    layout = stack.layout
    size = 200 * 1024 * 1024
    for attempt in range(3):
        path = f"{world.root}/crash/big{attempt}.bin"
        at = rng.randrange(8, 190)
        sent = threading.Event()

        def body(at: int = at, sent: threading.Event = sent) -> object:
            chunk = os.urandom(1024 * 1024)
            for i in range(size // len(chunk)):
                if i == at:
                    sent.set()
                yield chunk

        def upload(path: str = path, body: Any = body) -> None:
            with webhdfs(stack, world.alice) as alice:
                first = alice.put(path, params={"op": "CREATE"})
                with contextlib.suppress(httpx.HTTPError):  # the service dies under us: expected
                    alice.put(first.headers["location"], content=body())
        uploader = threading.Thread(target=upload)
        uploader.start()
        assert sent.wait(120)
        devstack.kill(layout, "storage")
        uploader.join(60)
        devstack.start_one(layout, "storage")
        with webhdfs(stack, world.alice) as alice:
            answer = alice.get(path, params={"op": "GETFILESTATUS"})
            whole = answer.status_code == 200 and answer.json()["FileStatus"]["length"] == size
            assert answer.status_code == 404 or whole, (at, answer.text)
    # three killed uploads leave up to ~600 MiB of blocks, taken back through FerretDB once each
    # writer's heartbeat is 15 s old: minutes on a loaded machine (docs/storage.md)
    report = _eventually_clean(stack, timeout=600)
    assert report["clean"] and not report["inProgress"], json.dumps(report)[:4000]

    # 10,000 files, then a recursive delete the service is killed in the middle of, again and again
    tree = f"{world.root}/crash/many"
    await _many(stack, world.alice, tree, 10_000)
    with webhdfs(stack, world.alice) as alice:
        before = alice.get(world.root, params={"op": "GETCONTENTSUMMARY"}).json()["ContentSummary"]
        summary = alice.get(tree, params={"op": "GETCONTENTSUMMARY"}).json()["ContentSummary"]
        assert summary["fileCount"] == 10_000
        assert alice.delete(tree, params={"op": "DELETE", "recursive": "true"}).json() == {"boolean": True}
        assert alice.get(tree, params={"op": "GETFILESTATUS"}).status_code == 404  # invisible at once
    for _ in range(3):
        time.sleep(rng.uniform(0.5, 4.0))  # the reclaimer is under way
        devstack.kill(layout, "storage")
        devstack.start_one(layout, "storage")
    report = _eventually_clean(stack, timeout=600)
    assert report["clean"] and not report["inProgress"], json.dumps(report)[:4000]
    with webhdfs(stack, world.alice) as alice:
        after = alice.get(world.root, params={"op": "GETCONTENTSUMMARY"}).json()["ContentSummary"]
    assert before["fileCount"] - after["fileCount"] == 10_000
    assert before["directoryCount"] - after["directoryCount"] == 101  # the tree and its 100 directories


async def _many(stack: Stack, member: MemberFiles, tree: str, count: int) -> None:
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=f"{stack.storage_url}/webhdfs/v1", verify=member.tls(stack),
                                 timeout=120) as client:
        async def one(i: int) -> None:
            async with limit:
                first = await client.put(f"{tree}/d{i % 100:02d}/f{i:05d}", params={"op": "CREATE"})
                done = await client.put(first.headers["location"], content=b"%d" % i)
                assert done.status_code == 201, done.text
        await asyncio.gather(*(one(i) for i in range(count)))


async def test_deleting_the_dataset_removes_its_tree(world: World, stack: Stack, admin_api: k8s.ApiClient
                                                     ) -> None:
    await _dataset(admin_api, world.project, "scratch", {})
    root = f"/Projects/{world.project}/scratch"
    with webhdfs(stack, world.alice) as alice:
        assert put_file(alice, f"{root}/a/b.txt", b"bye").status_code == 201
    await delete_dataset(admin_api, world.project, "scratch")
    with webhdfs(stack, world.alice) as alice:
        assert remote(alice.get(root, params={"op": "GETFILESTATUS"})) == (404, "FileNotFoundException")
