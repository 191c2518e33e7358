"""The CRI format: whole lines, partial lines joined per stream, bad lines refused."""

from __future__ import annotations

import pytest

from lulea.logs.cri import MAX_LINE_BYTES, BadLine, Joiner, parse_line, pod_dir

T = "2026-12-02T00:46:56.123456789Z"


def test_whole_line() -> None:
    line = parse_line(f"{T} stdout F hello world".encode())
    assert (line.time, line.stream, line.partial, line.text) == (T, "stdout", False, b"hello world")


def test_empty_text_and_spaces_kept() -> None:
    assert parse_line(f"{T} stderr F".encode()).text == b""
    assert parse_line(f"{T} stderr F  two  spaces ".encode()).text == b" two  spaces "


@pytest.mark.parametrize("raw", [
    b"", b"hello", f"{T} stdin F x".encode(), f"{T} stdout X x".encode(), b"notatime stdout F x",
])
def test_bad_lines(raw: bytes) -> None:
    with pytest.raises(BadLine):
        parse_line(raw)


def test_partials_join_per_stream() -> None:
    j = Joiner()
    assert j.feed(parse_line(f"{T} stdout P ab".encode()), 0, 10) is None
    assert j.feed(parse_line(f"{T} stderr P x".encode()), 10, 20) is None
    assert j.pending_start == 0
    err = j.feed(parse_line(f"{T} stderr F y".encode()), 20, 30)
    out = j.feed(parse_line(f"{T} stdout F cd".encode()), 30, 40)
    assert err is not None and (err.text, err.start, err.end) == (b"xy", 10, 30)
    assert out is not None and (out.text, out.start, out.end) == (b"abcd", 0, 40)
    assert j.pending_start is None


def test_long_line_is_cut() -> None:
    j = Joiner()
    piece = b"a" * (MAX_LINE_BYTES // 2 + 1)
    for k in range(3):
        j.feed(parse_line(f"{T} stdout P ".encode() + piece), k * 10, k * 10 + 10)
    out = j.feed(parse_line(f"{T} stdout F end".encode()), 30, 40)
    assert out is not None and out.truncated and len(out.text) == MAX_LINE_BYTES


def test_pod_dir() -> None:
    pd = pod_dir("p1_train-0_0b5e2d6a-6f8e-4e59-9a35-6a9b3c1f2e10")
    assert pd is not None and (pd.namespace, pd.pod) == ("p1", "train-0")
    assert pod_dir("garbage") is None
