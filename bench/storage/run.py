"""bench/storage: Lulea's storage (WebHDFS over a MongoDB namespace) and Apache HDFS, driven by
one concurrent WebHDFS client, each figure next to the raw database operation it rests on,
measured through PyMongo's AsyncMongoClient against FerretDB in the same run.

    uv run --no-sync python bench/storage/run.py --peer hdfs                    # HDFS + raw FerretDB
    uv run --no-sync python bench/storage/run.py --target lulea --url https://127.0.0.1:24024/webhdfs/v1 \
        --cert alice.pem --key alice.key --ca ca.pem --root /Projects/p1/ds/bench --peer hdfs
    uv run --no-sync python bench/storage/run.py --stack .lulea --target lulea --peer hdfs
        # a Project, a Dataset and a member certificate made on that stack (stack_target.py);
        # its FerretDB and, when it runs one, its PostgreSQL for the raw baselines
    ... --files 2000 --stream-mib 64 --seconds 2       # a quick run

Figures (each over --runs runs, min/median/max; the runs of every subject are interleaved):
  small-file creates/s (4 KiB, two-step CREATE)     vs insert_one of a 4 KiB inode holding its data
  stats/s (GETFILESTATUS of a random file)           vs find_one by the (parent, name) key, as a
                                                        key-encoded _id and as indexed fields
  listings/s (LISTSTATUS of a --dir-size directory)  vs find by parent
    with --files files in the namespace (default 100,000)
  streaming write / read MiB/s (--stream-mib)        vs 1 MiB chunk insert_one / find_one in
                                                        order; vs local disk (write+fsync, read uncached)

FerretDB: --mongo-uri, or the stack's (--stack DIR), or else one of its own from the tool cache
on --port-base + 39. When that FerretDB runs on PostgreSQL, --postgres-dsn gives the raw
baselines the GIN indexes the storage service makes for itself (FerretDB 1.x's own indexes
cannot serve its finds), and the finds by fields then run at full concurrency.
The HDFS peer (`bash dev/tools.sh hdfs`) listens on --port-base + 37/38.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import stack_target
from figures import Row, Summary, fmt_number, rate, split, table
from peers import Child, start_ferretdb, start_hdfs
from stack_target import StackTarget
from subjects import MIB, DiskSubject, MongoSubject, Plan, Subject, WebHdfsSubject
from webhdfs_client import Target

from lulea.devstack.endpoints import Stack

REPO = Path(__file__).resolve().parents[2]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=["lulea"], help="measure Lulea's storage service at --url")
    p.add_argument("--url", help="Lulea's WebHDFS base, https://host:port/webhdfs/v1")
    p.add_argument("--cert", help="member client certificate (PEM; may hold the key)")
    p.add_argument("--key", help="its private key, when not in --cert")
    p.add_argument("--ca", help="CA bundle for the service's server certificate")
    p.add_argument("--token", help="Bearer token instead of (or with) a client certificate")
    p.add_argument("--token-file", type=Path)
    p.add_argument("--user", help="user.name for Lulea (only where authorization is off)")
    p.add_argument("--root", help="directory the Lulea run works under (default /bench-<id>)")
    p.add_argument("--peer", choices=["hdfs"], action="append", default=[],
                   help="also run the same workload against Apache HDFS (MiniDFSCluster)")
    p.add_argument("--hdfs-url", help="with --peer hdfs: an HDFS already running (its WebHDFS base) "
                   "instead of starting the MiniDFSCluster")
    p.add_argument("--hdfs-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Hadoop property for the HDFS peer (default: Hadoop's defaults)")
    p.add_argument("--mongo-uri", help="FerretDB/MongoDB for the raw baselines")
    p.add_argument("--stack", type=Path, help="a running stack's state dir: use its FerretDB")
    p.add_argument("--postgres-dsn", help="the PostgreSQL under that FerretDB: give the raw baselines "
                   "the GIN indexes the storage service makes (lulea.storage.postgres_indexes)")
    p.add_argument("--port-base", type=int, default=31000)
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--dir-size", type=int, default=1_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5.0, help="length of a timed run (stats, listings)")
    p.add_argument("--stream-mib", type=int, default=1024)
    p.add_argument("--chunk-kib", type=int, default=1024)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--scratch", type=Path, help="where the peers and the disk baseline write")
    p.add_argument("--json", type=Path, help="also write the samples here")
    p.add_argument("--keep", action="store_true", help="leave the benchmark's files in place")
    args = p.parse_args(argv)
    if args.target == "lulea" and not args.url and not args.stack:
        p.error("--target lulea needs --url, or --stack to prepare a member of a Project there")
    if args.runs < 3:
        print("note: fewer than 3 runs; min/median/max say little", file=sys.stderr)
    if args.files < args.runs:
        p.error("--files must be at least --runs")
    return args


def mongo_uri_of(args: argparse.Namespace) -> str | None:
    if args.mongo_uri:
        return str(args.mongo_uri)
    if args.stack:
        endpoints = json.loads((args.stack / "endpoints.json").read_text())
        return str(endpoints["mongo_uri"])
    return None


class Results:
    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[float]] = {}

    def add(self, subject: str, figure: str, value: float) -> None:
        self.samples.setdefault((subject, figure), []).append(value)

    def get(self, subject: str, figure: str) -> Summary | None:
        values = self.samples.get((subject, figure))
        return Summary.of(values) if values else None

    def as_json(self) -> dict[str, dict[str, list[float]]]:
        out: dict[str, dict[str, list[float]]] = {}
        for (subject, figure), values in self.samples.items():
            out.setdefault(subject, {})[figure] = values
        return out


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


async def measure(plan: Plan, subjects: list[Subject], disk: DiskSubject, results: Results) -> None:
    for s in subjects:
        await s.setup()
    segments = split(plan.files, plan.runs)
    start = 0
    for r, size in enumerate(segments):
        items = range(start, start + size)
        start += size
        for s in subjects:
            n, sec = await s.create(items)
            results.add(s.name, "creates", rate(n, sec))
            progress(f"run {r + 1}: {s.name} creates {fmt_number(rate(n, sec))}/s ({n} files, {sec:.1f} s)")
    for r in range(plan.runs):
        for s in subjects:
            n, sec = await s.stat()
            results.add(s.name, "stats", rate(n, sec))
            msg = f"run {r + 1}: {s.name} stats {fmt_number(rate(n, sec))}/s ({n} in {sec:.1f} s)"
            if isinstance(s, MongoSubject):
                n, sec = await s.stat_fields()
                results.add(s.name, "stats_fields", rate(n, sec))
                msg += f", by (parent, name) fields {fmt_number(rate(n, sec))}/s"
            progress(msg)
    for r in range(plan.runs):
        for s in subjects:
            n, sec = await s.listing()
            results.add(s.name, "listings", rate(n, sec))
            progress(f"run {r + 1}: {s.name} listings {fmt_number(rate(n, sec))}/s ({n} in {sec:.1f} s)")
    for r in range(plan.runs):
        for s in [*subjects, disk]:
            b, sec = await s.stream_write(r)
            w = rate(b / MIB, sec)
            results.add(s.name, "stream_write", w)
            b, sec = await s.stream_read(r)
            rd = rate(b / MIB, sec)
            results.add(s.name, "stream_read", rd)
            progress(f"run {r + 1}: {s.name} stream write {fmt_number(w)} / read {fmt_number(rd)} MiB/s")


def rows(plan: Plan, res: Results, targets: list[str], scan_concurrency: int = 1) -> list[Row]:
    def row(figure: str, unit: str, key: str, base_name: str, base: Summary | None) -> Row:
        return Row(figure, unit, {t: res.get(t, key) for t in targets}, base_name, base)

    chunk = f"{plan.chunk_kib} KiB" if plan.chunk_kib % 1024 else f"{plan.chunk_kib // 1024} MiB"
    kib = plan.file_bytes // 1024
    scans = f"{scan_concurrency} in flight" + ("" if scan_concurrency == 1 else ", GIN-indexed")
    return [
        row(f"small-file creates ({kib} KiB)", "/s", "creates",
            f"insert_one ({kib} KiB inode)", res.get("mongo", "creates")),
        row("stats (GETFILESTATUS)", "/s", "stats",
            "find_one by _id = \"<parent>/<name>\"", res.get("mongo", "stats")),
        row("stats (GETFILESTATUS)", "/s", "stats",
            f"find_one by {{parent, name}} ({scans})", res.get("mongo", "stats_fields")),
        row(f"listings ({plan.dir_size:,} entries; {plan.files:,} files)", "/s", "listings",
            f"find by parent ({scans})", res.get("mongo", "listings")),
        row(f"streaming write ({plan.stream_mib:,} MiB)", "MiB/s", "stream_write",
            f"chunk insert_one ({chunk}, 1 in flight)", res.get("mongo", "stream_write")),
        row(f"streaming write ({plan.stream_mib:,} MiB)", "MiB/s", "stream_write",
            "local disk write + fsync", res.get("disk", "stream_write")),
        row(f"streaming read ({plan.stream_mib:,} MiB)", "MiB/s", "stream_read",
            "chunk find_one by _id, in order", res.get("mongo", "stream_read")),
        row(f"streaming read ({plan.stream_mib:,} MiB)", "MiB/s", "stream_read",
            "local disk read (uncached)", res.get("disk", "stream_read")),
    ]


async def main_async(args: argparse.Namespace) -> int:
    plan = Plan(files=args.files, dir_size=args.dir_size, runs=args.runs, seconds=args.seconds,
                stream_mib=args.stream_mib, chunk_kib=args.chunk_kib, concurrency=args.concurrency)
    run_id = secrets.token_hex(3)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix=f"lulea-storage-bench-{run_id}-"))
    scratch.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    subjects: list[Subject] = []
    results = Results()
    targets: list[str] = []
    notes: dict[str, Any] = {"plan": plan.__dict__, "run_id": run_id,
                             "load average at start": os.getloadavg()}
    prepared: StackTarget | None = None
    try:
        if args.target == "lulea" and not args.url:
            progress(f"preparing a Project and a Dataset on the stack at {args.stack}")
            prepared = stack_target.prepare(args.stack, scratch / "member", f"bench-storage-{run_id}")
            args.url, args.cert, args.key, args.ca = prepared.url, prepared.cert, prepared.key, prepared.ca
            args.root = prepared.root
            notes["lulea member"] = f"{stack_target.USER}, DataOwner of {prepared.project}, mTLS"
        if args.stack and args.postgres_dsn is None:
            args.postgres_dsn = stack_target.postgres_dsn_of(Stack.from_endpoints(args.stack))
        uri = mongo_uri_of(args)
        if uri is None:
            ferret, uri = start_ferretdb(args.port_base, scratch / "ferretdb")
            children.append(ferret)
            notes["ferretdb"] = f"own FerretDB at {uri} (SQLite under {scratch})"
        else:
            notes["ferretdb"] = uri
        mongo = MongoSubject(uri, plan, f"lulea_storage_bench_{run_id}", postgres_dsn=args.postgres_dsn)
        subjects.append(mongo)
        hdfs_child: Child | None = None
        if "hdfs" in args.peer:
            if args.hdfs_url:
                url = args.hdfs_url
            else:
                progress("starting the HDFS peer (MiniDFSCluster)")
                hdfs_child, url = start_hdfs(args.port_base, scratch / "hdfs",
                                             conf=tuple(args.hdfs_conf))
                children.append(hdfs_child)
            subjects.append(WebHdfsSubject(Target("hdfs", url, user="bench"), plan, f"/bench-{run_id}"))
            notes["hdfs"] = url + (f" with {', '.join(args.hdfs_conf)}" if args.hdfs_conf else "")
        if args.target == "lulea":
            token = args.token or (args.token_file.read_text().strip() if args.token_file else None)
            target = Target("lulea", args.url, user=args.user, cert=args.cert, key=args.key,
                            ca=args.ca, token=token)
            subjects.append(WebHdfsSubject(target, plan, args.root or f"/bench-{run_id}"))
            notes["lulea"] = args.url
        targets = [s.name for s in subjects if isinstance(s, WebHdfsSubject)]
        progress(f"measuring {', '.join(s.name for s in subjects)} + disk; "
                 f"{plan.files:,} files, {plan.runs} runs, concurrency {plan.concurrency}")
        disk = DiskSubject(plan, scratch)
        try:
            await measure(plan, subjects, disk, results)
        except Exception as e:
            # What was measured before the failure is still printed (and the run exits 1).
            failure = f"{type(e).__name__}: {e}"
            notes["FAILED"] = failure
            progress(f"the run failed: {failure}")
        notes["load average at end"] = os.getloadavg()
        notes["baseline GIN indexes"] = mongo.indexes or "none (no --postgres-dsn)"
        notes["mongo_plans"] = await mongo.explain_plans()
        if hdfs_child is not None:
            notes["hdfs_rss_mib"] = hdfs_child.rss_mib()
    finally:
        if not args.keep:
            for s in subjects:
                try:
                    await s.cleanup()
                except Exception as e:
                    print(f"cleanup of {s.name} failed: {e}", file=sys.stderr)
        if prepared is not None and not args.keep:
            try:
                stack_target.cleanup(args.stack, prepared.project)
            except Exception as e:
                print(f"deleting Project {prepared.project} failed: {e}", file=sys.stderr)
        for c in reversed(children):
            c.stop()
        if not args.scratch and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"bench/storage — {plan.files:,} files of {plan.file_bytes} B in directories of "
          f"{plan.dir_size:,}, {plan.runs} runs (median (min-max)), concurrency {plan.concurrency}, "
          f"timed runs {plan.seconds:g} s, stream {plan.stream_mib:,} MiB in {plan.chunk_kib} KiB pieces; "
          f"{os.cpu_count()} cores")
    print()
    print(table(rows(plan, results, targets, mongo.scan_concurrency), targets))
    print()
    for k, v in notes.items():
        if k != "plan":
            print(f"- {k}: {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"notes": notes, "samples": results.as_json()}, indent=1))
    return 1 if "FAILED" in notes else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
