"""The collector's own logic on real files, with a producer that acknowledges when told: a
checkpoint never passes an unacknowledged line or an open partial line; a restart resumes
there with the same line ids; rotated and deleted files are followed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from lulea.logs.collector import Collector
from lulea.logs.settings import CollectorSettings

T = "2026-12-02T00:46:56.123456789Z"
UID = "0b5e2d6a-6f8e-4e59-9a35-6a9b3c1f2e10"


class HeldProducer:
    def __init__(self) -> None:
        self.held: list[tuple[bytes, Any]] = []
        self.values: list[bytes] = []

    def produce(self, _topic: str, value: bytes, _key: bytes, headers: Any = None,
                on_delivery: Any = None) -> None:
        self.held.append((value, on_delivery))

    def ack_all(self) -> None:
        for value, callback in self.held:
            self.values.append(value)
            callback(None, None)
        self.held.clear()

    def poll(self, _t: float = 0) -> int:
        return 0

    def flush(self, _t: float = 0) -> int:
        self.ack_all()
        return 0

    def __len__(self) -> int:
        return len(self.held)


class Objects:
    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects

    def get(self, key: str) -> Any:
        return self.objects.get(key)


def collector(tmp_path: Path, producer: HeldProducer) -> Collector:
    settings = CollectorSettings(root=tmp_path / "pods", checkpoint_file=tmp_path / "cp.json")
    pods = Objects({"p1/train-0": {"metadata": {"uid": UID, "labels": {"lulea.io/job": "train"}},
                                   "spec": {"nodeName": "gpu-1"}}})
    return Collector(settings, producer, pods, Objects({"p1": {}}))


def lines(producer: HeldProducer) -> list[dict[str, Any]]:
    return [orjson.loads(x) for v in producer.values for x in v.splitlines()]


def test_checkpoint_follows_acks_and_restart_resends_with_same_ids(tmp_path: Path) -> None:
    d = tmp_path / "pods" / f"p1_train-0_{UID}" / "main"
    d.mkdir(parents=True)
    (d / "0.log").write_bytes(f"{T} stdout F one\n{T} stdout F two\n{T} stderr P thr".encode() + b"\n")
    p = HeldProducer()
    c = collector(tmp_path, p)
    c.scan()
    c.step()
    c.save()
    assert c.checkpoints.positions and next(iter(c.checkpoints.positions.values())).offset == 0
    p.ack_all()
    c.save()
    first = lines(p)
    assert [x["msg"] for x in first] == ["one", "two"]
    assert first[0] | {"lid": "", "time": ""} == {"project": "p1", "job": "train", "pod": "train-0",
                                                  "container": "main", "node": "gpu-1", "stream": "stdout",
                                                  "msg": "one", "lid": "", "time": ""}
    offset = next(iter(c.checkpoints.positions.values())).offset
    assert offset == len(f"{T} stdout F one\n{T} stdout F two\n")  # not past the open partial
    # a crash: a new collector from the checkpoint sends what follows, with stable ids
    with open(d / "0.log", "ab") as f:
        f.write(f"{T} stderr F ee\n".encode())
    p2 = HeldProducer()
    c2 = collector(tmp_path, p2)
    c2.scan()
    c2.step()
    p2.ack_all()
    assert [x["msg"] for x in lines(p2)] == ["three"[:3] + "ee"]
    # re-reading from 0 (checkpoint lost) gives the same ids for the same lines
    (tmp_path / "cp.json").unlink()
    p3 = HeldProducer()
    c3 = collector(tmp_path, p3)
    c3.scan()
    c3.step()
    p3.ack_all()
    assert [x["lid"] for x in lines(p3)][:2] == [x["lid"] for x in first]


def test_rotation_and_deletion(tmp_path: Path) -> None:
    d = tmp_path / "pods" / f"p1_train-0_{UID}" / "main"
    d.mkdir(parents=True)
    (d / "0.log").write_bytes(f"{T} stdout F a\n".encode())
    p = HeldProducer()
    c = collector(tmp_path, p)
    c.scan()
    c.step()
    with open(d / "0.log", "ab") as f:
        f.write(f"{T} stdout F b\n".encode())
    (d / "0.log").rename(d / "0.log.20261202-004700")
    (d / "0.log").write_bytes(f"{T} stdout F c\n".encode())
    (d / "0.log.20261201-000000.gz").write_bytes(b"\x1f\x8b")
    for _ in range(3):
        c.scan()
        c.step()
        p.ack_all()
    assert [x["msg"] for x in lines(p)] == ["a", "b", "c"]
    assert len(c.tails) == 1  # the rotated file, read and acknowledged, is closed
    (d / "0.log.20261202-004700").unlink()
    (d / "0.log").unlink()
    c.scan()
    c.save()
    assert not c.tails and not c.checkpoints.positions


def test_unknown_namespaces_are_not_read(tmp_path: Path) -> None:
    d = tmp_path / "pods" / f"kube-system_x_{UID}" / "main"
    d.mkdir(parents=True)
    (d / "0.log").write_bytes(f"{T} stdout F secret\n".encode())
    c = collector(tmp_path, HeldProducer())
    c.scan()
    assert not c.tails


def test_a_renewed_producer_sends_only_after_the_old_one_delivered(tmp_path: Path) -> None:
    """A certificate renewal: the old producer delivers what it holds (its acks still move the
    checkpoint) before the new one gets anything, so a container's lines keep their order."""
    d = tmp_path / "pods" / f"p1_train-0_{UID}" / "main"
    d.mkdir(parents=True)
    (d / "0.log").write_bytes(f"{T} stdout F one\n".encode())
    old, new = HeldProducer(), HeldProducer()
    c = collector(tmp_path, old)
    c.scan()
    c.step()
    assert len(old.held) == 1
    c.renew(new)
    asyncio.run(c.swap())
    assert not old.held and c.producer is new
    tail = next(iter(c.tails.values()))
    assert tail.acked == tail.sent == (d / "0.log").stat().st_size
    with open(d / "0.log", "ab") as f:
        f.write(f"{T} stdout F two\n".encode())
    c.step()
    new.ack_all()
    assert [x["msg"] for x in lines(old)] == ["one"] and [x["msg"] for x in lines(new)] == ["two"]
