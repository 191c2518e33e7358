"""The CRI log format the kubelet writes (one file per container restart under
/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log):

    2026-12-02T00:46:56.123456789Z stdout F a whole line
    2026-12-02T00:46:56.123456789Z stderr P the first part of a long line, ...
    2026-12-02T00:46:56.223456789Z stderr F ... and its end

A runtime splits a line longer than its buffer into `P` (partial) pieces ended by an `F`
piece; a reader joins them. Pure functions: no I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIR = re.compile(r"^(?P<namespace>[a-z0-9][-a-z0-9]*)_(?P<pod>[^_]+)_(?P<uid>[-0-9a-fA-F]+)$")
MAX_LINE_BYTES = 256 * 1024  # a joined line is cut here (marked truncated): Kafka and the index need a bound


class BadLine(ValueError):
    """Not a CRI log line."""


@dataclass(frozen=True, slots=True)
class CriLine:
    time: str  # RFC 3339 with nanoseconds, as the runtime wrote it
    stream: str  # stdout | stderr
    partial: bool
    text: bytes


def parse_line(raw: bytes) -> CriLine:
    """One line of a CRI file, without its newline."""
    parts = raw.split(b" ", 3)
    if len(parts) < 3:
        raise BadLine(f"not '<time> <stream> <tag> <text>': {raw[:80]!r}")
    time, stream, tag = parts[0], parts[1], parts[2]
    text = parts[3] if len(parts) == 4 else b""
    if stream not in (b"stdout", b"stderr") or len(time) < 20 or time[4:5] != b"-":
        raise BadLine(f"not a CRI line: {raw[:80]!r}")
    # the tag may carry more flags after ':' in future runtimes; P or F comes first
    flag = tag.split(b":", 1)[0]
    if flag not in (b"P", b"F"):
        raise BadLine(f"unknown CRI tag {tag!r}")
    return CriLine(time.decode(), stream.decode(), flag == b"P", text)


@dataclass(frozen=True, slots=True)
class PodDir:
    namespace: str
    pod: str
    uid: str


def pod_dir(name: str) -> PodDir | None:
    """`<namespace>_<pod>_<uid>` -> its parts (pod names have no '_'), else None."""
    m = _DIR.match(name)
    return PodDir(m["namespace"], m["pod"], m["uid"]) if m else None


@dataclass(slots=True)
class Joined:
    """A whole log line: where its first piece starts in the file and where its last ends."""

    start: int
    end: int
    time: str
    stream: str
    text: bytes
    truncated: bool = False


class Joiner:
    """Joins P pieces up to the F piece, per stream (stdout and stderr interleave in one file)."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[int, str, list[bytes], int]] = {}  # stream -> start, time, pieces, size

    def reset(self) -> None:
        self.open.clear()

    @property
    def pending_start(self) -> int | None:
        """Where the oldest unfinished line starts: a checkpoint may not pass it."""
        return min((v[0] for v in self.open.values()), default=None)

    def feed(self, line: CriLine, start: int, end: int) -> Joined | None:
        held = self.open.pop(line.stream, None)
        if held is None:
            if not line.partial:
                if len(line.text) > MAX_LINE_BYTES:
                    return Joined(start, end, line.time, line.stream, line.text[:MAX_LINE_BYTES], True)
                return Joined(start, end, line.time, line.stream, line.text)
            held = (start, line.time, [], 0)
        first, time, pieces, size = held
        if size < MAX_LINE_BYTES:
            pieces.append(line.text)
        size += len(line.text)
        if line.partial:
            self.open[line.stream] = (first, time, pieces, size)
            return None
        text = b"".join(pieces)
        cut = len(text) > MAX_LINE_BYTES
        return Joined(first, end, time, line.stream, text[:MAX_LINE_BYTES] if cut else text, cut)
