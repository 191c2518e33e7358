"""One container's supervisor, as containerd-shim is: it outlives the runtime.

    python -I -m lulea.devstack.runtime.shim <container-dir>

The runtime writes `<container-dir>/spec.json` (argv, env, cwd, log path, pidfile) and starts
this shim in a session of its own. The shim starts the process in its own process group (the
shim's: a signal to the group reaches both), copies its stdout and stderr into the CRI log file
line by line, waits for it, and writes its exit code to `<container-dir>/exit` (atomically).
Because the shim is not the runtime's child alone but the waiter of record, a runtime killed
mid-job loses nothing: the next runtime finds the exit file, or a live shim to adopt.

The shim catches SIGTERM and does nothing with it: the group's signal stops the process, and
the shim stays to record how it ended. Only the standard library is imported here: a shim
starts for every container, and its start-up is part of every job's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

MAX_LINE = 16 * 1024  # the kubelet's CRI logger splits longer lines into partial (P) records


def rfc3339nano(ts: float | None = None) -> str:
    ts = time.time() if ts is None else ts
    whole = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{int((ts % 1) * 1e9):09d}Z"


def start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat: with the pid, it names one process for its whole life."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[19]


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class CriLog:
    """`<RFC3339Nano> <stream> <P|F> <text>` lines, from two streams, one writer."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.lock = out, threading.Lock()

    def record(self, stream: str, tag: str, text: bytes) -> None:
        line = f"{rfc3339nano()} {stream} {tag} ".encode() + text + b"\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()

    def pump(self, stream: str, fd: int) -> None:
        pending = b""
        while chunk := os.read(fd, 65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._full(stream, line)
            while len(pending) >= MAX_LINE:
                self.record(stream, "P", pending[:MAX_LINE])
                pending = pending[MAX_LINE:]
        if pending:
            self.record(stream, "F", pending)
        os.close(fd)

    def _full(self, stream: str, line: bytes) -> None:
        while len(line) > MAX_LINE:
            self.record(stream, "P", line[:MAX_LINE])
            line = line[MAX_LINE:]
        self.record(stream, "F", line)


def run(directory: Path) -> int:
    spec: dict[str, Any] = json.loads((directory / "spec.json").read_text())
    signal.signal(signal.SIGTERM, lambda *_: None)  # reset to default in the process (exec)
    log_path = Path(spec["log"])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pidfile = Path(spec["pidfile"]) if spec.get("pidfile") else None
    if pidfile is not None:  # `lulea-stack down` stops what the pids directory names
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(pidfile, f"{os.getpid()} {start_time(os.getpid())}\n")
    started = time.time()
    with log_path.open("ab") as out:
        log = CriLog(out)
        try:
            proc = subprocess.Popen(spec["argv"], env=spec["env"], cwd=spec["cwd"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError as err:
            message = f"failed to start {spec['argv'][0]!r}: {err.strerror or err}"
            log.record("stderr", "F", message.encode())
            finish(directory, pidfile, {"exitCode": 128, "reason": "StartError", "message": message,
                                        "startedAt": started, "finishedAt": time.time()})
            return 0
        write_atomic(directory / "process", json.dumps({
            "pid": proc.pid, "start": start_time(proc.pid), "shim": os.getpid(),
            "shimStart": start_time(os.getpid()), "startedAt": started}))
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [threading.Thread(target=log.pump, args=(name, stream.fileno()), daemon=True)
                 for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))]
        for t in pumps:
            t.start()
        code = proc.wait()
        for t in pumps:
            t.join(timeout=5)  # a grandchild may hold the pipes open: do not wait for it forever
    exit_code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
    finish(directory, pidfile, {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                                "startedAt": started, "finishedAt": time.time()})
    return 0


def finish(directory: Path, pidfile: Path | None, result: dict[str, Any]) -> None:
    write_atomic(directory / "exit", json.dumps(result))
    if pidfile is not None:
        pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
