"""Reading one CRI file as the kubelet writes it: appended to, renamed away at rotation (a new
file takes the name), truncated in place, or deleted while we hold it open.

A `Tail` holds the file open by descriptor, so a rename or a delete does not lose what is
still unread; it reads whole lines only (a line without its newline waits), and notices a
truncation (the file is shorter than what was read) by starting again at offset 0 with the
next generation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lulea.logs.cri import MAX_LINE_BYTES, BadLine, Joined, Joiner, parse_line

READ_BYTES = 1 << 20
HEAD_BYTES = 64  # a CRI line starts with its nanosecond timestamp: a rewritten head differs


def file_id(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}"


@dataclass
class Tail:
    path: Path
    fid: str
    offset: int  # next byte to read (the start of a line)
    generation: int
    fd: int
    acked: int  # bytes Kafka acknowledged
    sent: int = 0  # bytes handed to the producer (whole lines)
    joiner: Joiner = field(default_factory=Joiner)
    bad_lines: int = 0
    head: bytes = b""  # the file's first bytes as we read them: a truncation changes them

    @classmethod
    def open(cls, path: Path, offset: int, generation: int) -> Tail:
        fd = os.open(path, os.O_RDONLY)
        st = os.fstat(fd)
        if st.st_size < offset:  # truncated while we were away
            offset, generation = 0, generation + 1
        tail = cls(path, file_id(st), offset, generation, fd, acked=offset, sent=offset)
        tail.head = os.pread(fd, min(HEAD_BYTES, offset), 0)
        return tail

    def close(self) -> None:
        os.close(self.fd)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def check_truncated(self) -> bool:
        """The file is shorter than what we read, or its first bytes changed (it was truncated
        and written past our offset again before we looked): truncated. Start over."""
        if self.size() >= self.offset and (
                not self.head or os.pread(self.fd, len(self.head), 0) == self.head):
            return False
        self.head = b""
        self.offset = self.sent = self.acked = 0
        self.generation += 1
        self.joiner.reset()
        return True

    def read(self, limit: int = READ_BYTES) -> list[Joined]:
        """The whole lines appended since the last read (at most about `limit` bytes)."""
        data = os.pread(self.fd, limit, self.offset)
        if not data:
            return []
        if len(self.head) < HEAD_BYTES and self.offset < HEAD_BYTES:
            self.head = (self.head + data)[:HEAD_BYTES] if self.offset == len(self.head) else self.head
        last = data.rfind(b"\n")
        if last < 0:
            if len(data) >= limit:  # one line longer than a read: no runtime writes that; skip it
                self.offset += len(data)
                self.bad_lines += 1
            return []
        out: list[Joined] = []
        pos = self.offset
        joiner = self.joiner
        for raw in data[: last + 1].split(b"\n")[:-1]:
            start, pos = pos, pos + len(raw) + 1
            parts = raw.split(b" ", 3)
            # the fast path: a whole line (tag F) with no partial line open on its stream
            if (len(parts) == 4 and parts[2] == b"F" and not joiner.open
                    and parts[1] in (b"stdout", b"stderr") and parts[0][4:5] == b"-"
                    and len(parts[3]) <= MAX_LINE_BYTES):
                out.append(Joined(start, pos, parts[0].decode(), parts[1].decode(), parts[3]))
                continue
            try:
                line = parse_line(raw)
            except BadLine:
                self.bad_lines += 1
                continue
            joined = joiner.feed(line, start, pos)
            if joined is not None:
                out.append(joined)
        self.offset = pos
        return out

    @property
    def drained(self) -> bool:
        return self.size() <= self.offset
