"""Which VictoriaLogs tenant holds a project's logs, and the stable id of a line.

Decision (docs/logs.md): a project's tenant is derived from its name, not kept in a table.
(AccountID, ProjectID) are two 32-bit halves of SHA-256("lulea-logs/" + project): the
indexer (which writes) and the gateway (which reads) agree without sharing state, a restart
or a new replica cannot hand out a different number, and 64 bits make a collision between two
of even a million project names about one in 10^7. A project deleted and created again under
the same name gets the same tenant, which is why the gateway deletes a project's logs when the
Project goes (retention.py). Tenant (0, 0), VictoriaLogs' default, is never a project's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Tenant:
    account_id: int
    project_id: int

    def headers(self) -> dict[str, str]:
        return {"AccountID": str(self.account_id), "ProjectID": str(self.project_id)}


def tenant_of(project: str) -> Tenant:
    digest = hashlib.sha256(f"lulea-logs/{project}".encode()).digest()
    account, project_id = int.from_bytes(digest[:4], "big"), int.from_bytes(digest[4:8], "big")
    if account == 0 and project_id == 0:  # pragma: no cover - one chance in 2^64
        project_id = 1
    return Tenant(account, project_id)


def file_key(uid: str, container: str, file_id: str, generation: int) -> str:
    """The part of a line id shared by every line of one file generation: the pod, the
    container, the file (device:inode) and how many times that file was truncated."""
    key = f"{uid}/{container}/{file_id}/{generation}".encode()
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def line_id(uid: str, container: str, file_id: str, generation: int, offset: int) -> str:
    """A line's identity: its file's key and the byte offset where the line starts. Reading the
    same bytes again after a crash gives the same id, so a reader can drop the second copy."""
    return f"{file_key(uid, container, file_id, generation)}-{offset:x}"
