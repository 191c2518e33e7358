"""bench/storage against Apache HDFS itself: the MiniDFSCluster peer (`bash dev/tools.sh hdfs`)
started from the tool cache, the bench's WebHDFS client checked against it (errors as HDFS
sends them), and the whole bench run with tiny sizes, raw FerretDB baselines included.

Skipped, saying why, when the HDFS peer or FerretDB is not built: the peer is optional and CI's
default tool build leaves it out.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lulea.devstack.process import port_in_use

BENCH = Path(__file__).resolve().parents[2] / "bench" / "storage"
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402
from webhdfs_client import Target, WebHdfs, WebHdfsError  # noqa: E402

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    for probe in (peers.hdfs_tool(), peers.ferretdb_tool()):
        if isinstance(probe, str):
            return probe
    return None


def _free_base() -> int:
    for base in range(31000, 40000, 100):
        offsets = (peers.HDFS_HTTP_OFFSET, peers.HDFS_RPC_OFFSET, peers.FERRETDB_OFFSET)
        if not any(port_in_use(base + o) for o in offsets):
            return base
    raise RuntimeError("no free port base for the HDFS peer")


@pytest.fixture(scope="module")
def hdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    why = _missing()
    if why:
        pytest.skip(why)
    base = _free_base()
    child, url = peers.start_hdfs(base, tmp_path_factory.mktemp("hdfs") / "peer")
    try:
        yield url, base
    finally:
        child.stop()


def test_the_client_speaks_webhdfs_with_hdfs(hdfs: tuple[str, int]) -> None:
    url, _ = hdfs

    async def scenario() -> None:
        async with WebHdfs(Target("hdfs", url, user="bench"), concurrency=2) as fs:
            assert await fs.mkdirs("/t/a b")
            await fs.create("/t/a b/x", b"hello" * 1000)
            st = await fs.status("/t/a b/x")
            assert st["type"] == "FILE" and st["length"] == 5000
            assert [e["pathSuffix"] for e in await fs.list("/t/a b")] == ["x"]
            assert await fs.read("/t/a b/x") == b"hello" * 1000
            assert await fs.open("/t/a b/x", 1024) == 5000
            with pytest.raises(WebHdfsError) as err:
                await fs.status("/t/missing")
            assert (err.value.status, err.value.exception) == (404, "FileNotFoundException")
            with pytest.raises(WebHdfsError) as err:
                await fs.create("/t/a b/x", b"again", overwrite=False)
            assert err.value.exception == "FileAlreadyExistsException"
            assert await fs.delete("/t", recursive=True)

    asyncio.run(scenario())


def test_the_bench_runs_against_hdfs_with_tiny_sizes(hdfs: tuple[str, int], tmp_path: Path) -> None:
    url, base = hdfs
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--peer", "hdfs", "--hdfs-url", url,
         "--port-base", str(base), "--files", "60", "--dir-size", "20", "--runs", "3",
         "--seconds", "0.3", "--stream-mib", "3", "--concurrency", "4", "--json", str(out),
         "--scratch", str(tmp_path / "scratch")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    samples = json.loads(out.read_text())["samples"]
    for subject, figures in {
        "hdfs": ("creates", "stats", "listings", "stream_write", "stream_read"),
        "mongo": ("creates", "stats", "stats_fields", "listings", "stream_write", "stream_read"),
        "disk": ("stream_write", "stream_read"),
    }.items():
        for figure in figures:
            values = samples[subject][figure]
            assert len(values) == 3 and all(v > 0 for v in values), (subject, figure, values)
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| figure"))
    assert "| hdfs |" in header and "hdfs/baseline" in header
    assert "small-file creates (4 KiB)" in proc.stdout
