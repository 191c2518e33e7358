"""Tailing real files: appends, a line without its newline yet, truncation, rotation by rename,
deletion while open; the checkpoint survives a reload."""

from __future__ import annotations

import os
from pathlib import Path

from lulea.logs.checkpoint import Checkpoints, Position
from lulea.logs.collector import is_current, is_rotated
from lulea.logs.tailer import Tail

T = "2026-12-02T00:46:56.123456789Z"


def cri(text: str, tag: str = "F") -> bytes:
    return f"{T} stdout {tag} {text}\n".encode()


def test_reads_whole_lines_only(tmp_path: Path) -> None:
    f = tmp_path / "0.log"
    f.write_bytes(cri("one") + cri("two")[:-5])
    tail = Tail.open(f, 0, 0)
    assert [j.text for j in tail.read()] == [b"one"]
    with open(f, "ab") as out:
        out.write(cri("two")[-5:])
    assert [j.text for j in tail.read()] == [b"two"]
    assert tail.read() == [] and tail.drained


def test_truncation_starts_a_new_generation(tmp_path: Path) -> None:
    f = tmp_path / "0.log"
    f.write_bytes(cri("old line that is long enough"))
    tail = Tail.open(f, 0, 0)
    tail.read()
    f.write_bytes(cri("new"))  # truncate and write: shorter than what was read
    assert tail.check_truncated() and tail.generation == 1 and tail.offset == 0
    assert [j.text for j in tail.read()] == [b"new"]


def test_rename_and_delete_keep_the_open_file(tmp_path: Path) -> None:
    f = tmp_path / "0.log"
    f.write_bytes(cri("a"))
    tail = Tail.open(f, 0, 0)
    with open(f, "ab") as out:
        out.write(cri("b"))
    f.rename(tmp_path / "0.log.20261202-004656")
    assert [j.text for j in tail.read()] == [b"a", b"b"]
    os.unlink(tmp_path / "0.log.20261202-004656")
    assert tail.drained
    tail.close()


def test_resume_beyond_size_is_a_truncation(tmp_path: Path) -> None:
    f = tmp_path / "0.log"
    f.write_bytes(cri("x"))
    tail = Tail.open(f, 10_000, 3)
    assert (tail.offset, tail.generation) == (0, 4)


def test_checkpoints_round_trip(tmp_path: Path) -> None:
    cp = Checkpoints(tmp_path / "c.json")
    cp.set("1:2", Position("/x/0.log", 42, 1))
    cp.save()
    assert Checkpoints(tmp_path / "c.json").get("1:2") == Position("/x/0.log", 42, 1)


def test_file_names() -> None:
    assert is_current("0.log") and is_current("12.log") and not is_current("0.log.gz")
    assert is_rotated("0.log.20261202-004656") and not is_rotated("0.log.20261202-004656.gz")


def test_truncation_noticed_when_the_file_grew_back_past_the_offset(tmp_path: Path) -> None:
    f = tmp_path / "0.log"
    f.write_bytes(cri("short"))
    tail = Tail.open(f, 0, 0)
    tail.read()
    f.write_bytes(cri("2026 a longer line written after the truncation") * 2)
    assert tail.check_truncated() and tail.generation == 1
    assert [j.text for j in tail.read()] == [b"2026 a longer line written after the truncation"] * 2
    assert not tail.check_truncated()
