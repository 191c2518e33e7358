"""Containers as real processes under their shims, no API server: exit codes, CRI lines,
SIGTERM, and a second runtime (a new Container object) adopting what the first started."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from lulea.devstack.process import start_time
from lulea.devstack.runtime.containers import Container


def spec(tmp: Path, code: str) -> dict[str, object]:
    return {"argv": [sys.executable, "-c", code], "env": {"PATH": str(Path(sys.executable).parent)},
            "cwd": str(tmp), "log": str(tmp / "logs" / "0.log"), "pidfile": str(tmp / "pids" / "c.pid")}


def wait_ended(c: Container, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        _, code = c.state()
        if code is not None:
            return code
        assert time.monotonic() < deadline, "the container never ended"
        time.sleep(0.05)


def test_exit_code_and_cri_lines(tmp_path: Path) -> None:
    c = Container("main", tmp_path / "c")
    c.start(spec(tmp_path, "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"))
    assert wait_ended(c) == 3
    state, _ = c.state()
    assert state["terminated"]["reason"] == "Error"
    lines = (tmp_path / "logs" / "0.log").read_text().splitlines()
    streams = {(line.split(" ")[1], line.split(" ", 3)[3]) for line in lines}
    assert streams == {("stdout", "out"), ("stderr", "err")}
    assert all(line.split(" ")[0].endswith("Z") and line.split(" ")[2] == "F" for line in lines)
    assert not (tmp_path / "pids" / "c.pid").exists()  # the shim removes its pidfile when done


def test_a_missing_program_is_a_start_error(tmp_path: Path) -> None:
    c = Container("main", tmp_path / "c")
    c.start({**spec(tmp_path, ""), "argv": ["no-such-program-here"]})
    assert wait_ended(c) == 128
    assert c.state()[0]["terminated"]["reason"] == "StartError"


def test_sigterm_ends_the_process_and_the_shim_records_it(tmp_path: Path) -> None:
    c = Container("main", tmp_path / "c")
    c.start(spec(tmp_path, "import time; print('up', flush=True); time.sleep(60)"))
    deadline = time.monotonic() + 20
    while "running" not in c.state()[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    c.signal(signal.SIGTERM)
    assert wait_ended(c) == 128 + signal.SIGTERM


def test_a_new_runtime_adopts_a_running_container_and_sees_its_end(tmp_path: Path) -> None:
    first = Container("main", tmp_path / "c")
    first.start(spec(tmp_path, "import sys, time; time.sleep(1.5); sys.exit(5)"))
    while first.process() is None:
        time.sleep(0.05)
    pid, started = first.process()  # type: ignore[misc]
    adopted = Container("main", tmp_path / "c")  # no Popen: not this runtime's child
    assert "running" in adopted.state()[0]
    assert wait_ended(adopted) == 5
    first.reap()
    assert start_time(pid) != started


def test_a_container_killed_with_its_shim_ends_unknown_and_stays_so(tmp_path: Path) -> None:
    c = Container("main", tmp_path / "c")
    c.start(spec(tmp_path, "import time; time.sleep(60)"))
    while c.process() is None:
        time.sleep(0.05)
    c.signal(signal.SIGKILL)
    assert wait_ended(c) == 137
    first = c.state()[0]
    assert first["terminated"]["reason"] == "ContainerStatusUnknown"
    time.sleep(1.1)
    assert Container("main", tmp_path / "c").state()[0] == first
