"""Processes the stack starts: each gets a log file and a pid file, and is stopped by that pid only.

A pid file records the pid and the process's start time (field 22 of /proc/<pid>/stat), so a
stop never signals an unrelated process that happens to reuse the pid after ours ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class StackError(Exception):
    """A problem that stops `up`; its message is the one line the user sees."""


def start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has ended; only its exit status is left
        return None
    return fields[19]


@dataclass(frozen=True)
class Managed:
    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        return start_time(self.pid) == self.started


def spawn(name: str, argv: list[str], log: Path, pidfile: Path,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> Managed:
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():  # keep one previous run's log; readiness checks read only this run's
        log.replace(log.with_suffix(".log.1"))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
    started = start_time(proc.pid) or ""
    pidfile.write_text(f"{proc.pid} {started}\n")
    return Managed(name, proc.pid, started)


def read_pidfile(pidfile: Path) -> Managed | None:
    try:
        pid, started = pidfile.read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return Managed(pidfile.stem, int(pid), started)


def stop(managed: Managed, timeout: float = 15.0) -> bool:
    """SIGTERM the process group we started, then SIGKILL after `timeout`. True if it was running."""
    if not managed.alive():
        return False
    _signal_group(managed, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not managed.alive():
            return True
        time.sleep(0.1)
    _signal_group(managed, signal.SIGKILL)
    return True


def _signal_group(managed: Managed, sig: signal.Signals) -> None:
    # We started it with start_new_session, so its pid is its process group id.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(managed.pid, sig)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
