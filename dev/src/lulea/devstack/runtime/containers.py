"""A container on disk: the spec the runtime decided, the shim that runs it, how it ended.

    <pod-dir>/containers/<name>/spec.json   argv, env, cwd, log (written before the shim starts)
                               /shim        "pid start" of the shim (the shim's process group)
                               /process     the process's pid and start time (by the shim)
                               /exit        exit code, reason, times (by the shim, atomically)

A pid is trusted only with its start time (field 22 of /proc/<pid>/stat), so a signal never
reaches a process that reused the pid of one that ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulea.devstack.process import start_time

Obj = dict[str, Any]
SHIM_GRACE = 3.0  # seconds a recorded start waits for its shim to say it exists


@dataclass
class Container:
    name: str
    directory: Path
    popen: subprocess.Popen[bytes] | None = None  # set when this runtime started the shim

    @property
    def decided(self) -> bool:
        return (self.directory / "spec.json").exists()

    def _pid_pair(self, file: str, pid_key: str = "pid", start_key: str = "start") -> tuple[int, str] | None:
        path = self.directory / file
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        if file == "shim":
            pid, start = text.split()
            return int(pid), start
        data = json.loads(text)
        return int(data[pid_key]), str(data[start_key])

    def shim(self) -> tuple[int, str] | None:
        return self._pid_pair("shim")

    def process(self) -> tuple[int, str] | None:
        return self._pid_pair("process")

    def result(self) -> Obj | None:
        try:
            return json.loads((self.directory / "exit").read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def started_at(self) -> float | None:
        try:
            return float(json.loads((self.directory / "process").read_text())["startedAt"])
        except FileNotFoundError:
            return None

    def shim_alive(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            return False  # reaped: our own child, ended
        pair = self.shim()
        return pair is not None and start_time(pair[0]) == pair[1]

    def process_alive(self) -> bool:
        pair = self.process()
        return pair is not None and start_time(pair[0]) == pair[1]

    def start(self, spec: Obj) -> None:
        """Write the spec and start the shim in a session of its own (it survives the runtime)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / ".spec.json.tmp"
        tmp.write_text(json.dumps(spec))
        os.replace(tmp, self.directory / "spec.json")
        with (self.directory / "shim.log").open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-I", "-m", "lulea.devstack.runtime.shim", str(self.directory)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                cwd=self.directory)
        started = start_time(self.popen.pid) or ""
        (self.directory / "shim").write_text(f"{self.popen.pid} {started}\n")

    def needs_start(self) -> bool:
        """Decided but no shim ever recorded (the runtime died between the two): start it again
        once the shim had its time to appear."""
        if not self.decided or self.shim() is not None or self.result() is not None:
            return False
        age = time.time() - (self.directory / "spec.json").stat().st_mtime
        return age > SHIM_GRACE

    def signal(self, sig: signal.Signals) -> None:
        """Signal the shim's process group (the shim ignores SIGTERM and records the end)."""
        pair = self.shim()
        if pair is None:
            return
        pid, started = pair
        if start_time(pid) == started or self.process_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)

    def reap(self) -> None:
        if self.popen is not None:
            self.popen.poll()

    def state(self) -> tuple[Obj, int | None]:
        """The container's state as a Pod's containerStatuses says it, and its exit code if ended."""
        self.reap()
        result = self.result()
        if result is not None:
            code = int(result["exitCode"])
            term: Obj = {"exitCode": code, "reason": result.get("reason", "Error"),
                         "startedAt": _iso(result.get("startedAt")),
                         "finishedAt": _iso(result.get("finishedAt")),
                         "containerID": f"lulea-local://{self.directory.parent.parent.name}/{self.name}"}
            if result.get("message"):
                term["message"] = result["message"]
            return {"terminated": term}, code
        if self.shim() is None:
            return {"waiting": {"reason": "ContainerCreating"}}, None
        if self.shim_alive() or self.process_alive():
            started = self.started_at()
            if started is None:
                return {"waiting": {"reason": "ContainerCreating"}}, None
            return {"running": {"startedAt": _iso(started)}}, None
        # The shim ended without recording an exit (SIGKILLed with its group): the process
        # went with it; the kubelet calls such a container's end unknown. Recorded once, so
        # every later look (and the next runtime) says the same. The shim writes its exit file
        # before it ends: looked at again now that it is gone, the file tells if it did.
        if self.result() is not None:
            return self.state()
        unknown = {"exitCode": 137, "reason": "ContainerStatusUnknown", "startedAt": self.started_at(),
                   "message": "the container's supervisor ended without an exit code",
                   "finishedAt": time.time()}
        tmp = self.directory / ".exit.tmp"
        tmp.write_text(json.dumps(unknown))
        os.replace(tmp, self.directory / "exit")
        return self.state()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
