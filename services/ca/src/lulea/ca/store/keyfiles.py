"""The hierarchy's files on disk (local stack): `root.{crt,key}` and `intermediate.{crt,key}`,
keys mode 0600 in a 0700 directory. PEM bytes in, PEM bytes out: `domain.hierarchy` makes
authorities of them."""

from __future__ import annotations

import os
from pathlib import Path

ROOT, INTERMEDIATE = "root", "intermediate"


def write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically (temp file then rename) with `mode` from the start."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class KeyFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ensure_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def has_key(self, name: str) -> bool:
        return (self.directory / f"{name}.key").exists()

    def certificate(self, name: str) -> bytes:
        return (self.directory / f"{name}.crt").read_bytes()

    def key(self, name: str) -> bytes:
        return (self.directory / f"{name}.key").read_bytes()

    def save(self, name: str, cert_pem: bytes, key_pem: bytes) -> None:
        write(self.directory / f"{name}.key", key_pem, 0o600)
        write(self.directory / f"{name}.crt", cert_pem, 0o644)
