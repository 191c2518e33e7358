"""The hierarchy on disk (local stack): `root.{crt,key}` and `intermediate.{crt,key}`,
keys mode 0600 in a 0700 directory."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509

from lulea.ca.domain.hierarchy import (
    Authority,
    Hierarchy,
    create_intermediate,
    create_root,
    load_authority,
)

ROOT, INTERMEDIATE = "root", "intermediate"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def save_authority(directory: Path, name: str, authority: Authority) -> None:
    _write(directory / f"{name}.key", authority.key_pem(), 0o600)
    _write(directory / f"{name}.crt", authority.cert_pem(), 0o644)


def load(directory: Path) -> Hierarchy:
    """The online part: root certificate and intermediate key pair (the root key stays put)."""
    root = x509.load_pem_x509_certificate((directory / f"{ROOT}.crt").read_bytes())
    intermediate = load_authority(
        (directory / f"{INTERMEDIATE}.crt").read_bytes(),
        (directory / f"{INTERMEDIATE}.key").read_bytes(),
    )
    return Hierarchy(root=root, intermediate=intermediate)


def init(directory: Path) -> tuple[Hierarchy, bool]:
    """Create root and intermediate if absent; returns (hierarchy, created_anything).

    Idempotent: an existing root is kept (and an existing intermediate with it); a missing
    intermediate is signed by the existing root.
    """
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    created = False
    if (directory / f"{ROOT}.key").exists():
        root = load_authority(
            (directory / f"{ROOT}.crt").read_bytes(), (directory / f"{ROOT}.key").read_bytes()
        )
    else:
        root = create_root()
        save_authority(directory, ROOT, root)
        created = True
    if not (directory / f"{INTERMEDIATE}.key").exists():
        save_authority(directory, INTERMEDIATE, create_intermediate(root))
        created = True
    return load(directory), created
