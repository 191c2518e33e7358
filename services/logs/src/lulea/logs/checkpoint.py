"""Where the collector is in each file, kept on disk: written only with offsets Kafka has
acknowledged, atomically (write, fsync, rename), so a restart after SIGKILL resumes at the
last acknowledged line: nothing lost; at most the lines acknowledged after the last write are
sent again, with the same line ids.

A file is known by its identity (device and inode), not its name: the kubelet renames a file
when it rotates it, and the inode follows the bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Position:
    path: str  # where the file was last seen (informative: identity is the key)
    offset: int  # bytes acknowledged by Kafka: everything before is shipped
    generation: int = 0  # times the file was seen truncated (part of every line id)


class Checkpoints:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, Position] = {}
        self.dirty = False
        if path.exists():
            raw = json.loads(path.read_text() or "{}")
            self.positions = {k: Position(**v) for k, v in raw.get("files", {}).items()}

    def get(self, file_id: str) -> Position | None:
        return self.positions.get(file_id)

    def set(self, file_id: str, position: Position) -> None:
        self.positions[file_id] = position
        self.dirty = True

    def forget(self, file_id: str) -> None:
        if self.positions.pop(file_id, None) is not None:
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps({"files": {k: asdict(v) for k, v in self.positions.items()}})
        with open(tmp, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
        self.dirty = False
