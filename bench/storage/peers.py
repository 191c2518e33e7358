"""Processes bench/storage starts for itself from the tool cache (dev/tools.sh): the Apache HDFS
peer (a MiniDFSCluster, `bash dev/tools.sh hdfs`) and, when no stack is given, a FerretDB of its
own. Each is our child in its own session, stopped by its pid only (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lulea.devstack.layout import tool_paths
from lulea.devstack.process import tcp_open

# Hadoop 3.3.6 on Java 17: the module openings its reflection needs (Hadoop's own hadoop-env
# for JDK 17 lists the same kind); without java.lang the NameNode fails at start.
JVM_OPENS = (
    "java.base/java.lang", "java.base/java.lang.reflect", "java.base/java.io", "java.base/java.nio",
    "java.base/java.net", "java.base/java.util", "java.base/java.util.concurrent",
    "java.base/sun.nio.ch", "java.base/sun.net.dns", "java.base/sun.security.util",
)

# Offsets from the bench's port base, outside the stack's own (layout.PORT_OFFSETS) so a stack
# on the same base can run beside it.
HDFS_HTTP_OFFSET, HDFS_RPC_OFFSET, FERRETDB_OFFSET = 37, 38, 39


def hdfs_tool() -> tuple[Path, Path] | str:
    """(peer jar, libs dir) or why the peer is not there."""
    jar = tool_paths().get("hdfs")
    if jar is None:
        return "dev/tools.sh knows no hdfs tool"
    libs = jar.parent / "libs"
    if not jar.exists() or not (libs / ".complete").exists():
        return f"the HDFS peer is not built ({jar}): run `bash dev/tools.sh hdfs`"
    return jar, libs


def ferretdb_tool() -> Path | str:
    path = tool_paths().get("ferretdb")
    if path is None or not path.exists():
        return f"FerretDB is not built ({path}): run `bash dev/tools.sh ferretdb`"
    return path


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def rss_mib(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except FileNotFoundError:
            return None
        return None


def _tail(log: Path, n: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return ""


def start_hdfs(port_base: int, data: Path, timeout: float = 600.0,
               conf: tuple[str, ...] = ()) -> tuple[Child, str]:
    """Starts the MiniDFSCluster; returns it and its WebHDFS URL once the DataNode is up.
    `conf` holds Hadoop properties as key=value (the defaults are Hadoop's own)."""
    tool = hdfs_tool()
    if isinstance(tool, str):
        raise RuntimeError(tool)
    jar, libs = tool
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}.log"
    http, rpc = port_base + HDFS_HTTP_OFFSET, port_base + HDFS_RPC_OFFSET
    argv = ["java", "-Xmx2g", *[f"--add-opens={m}=ALL-UNNAMED" for m in JVM_OPENS],
            "-cp", f"{jar}:{libs}/*", "io.lulea.dev.hdfs.HdfsPeer",
            "--http-port", str(http), "--rpc-port", str(rpc), "--data", str(data / "dfs"),
            *[a for kv in conf for a in ("--conf", kv)]]
    errors = log.open("ab")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, start_new_session=True)
    errors.close()
    child = Child("hdfs", proc, log)
    ready: list[str] = []

    def watch() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith("HDFS_PEER_READY "):
                ready.append(line.split(" ", 1)[1])

    threading.Thread(target=watch, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready:
        if proc.poll() is not None:
            raise RuntimeError(f"the HDFS peer exited ({proc.returncode}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"the HDFS peer was not ready after {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.2)
    return child, ready[0]


def start_ferretdb(port_base: int, data: Path, timeout: float = 60.0) -> tuple[Child, str]:
    tool = ferretdb_tool()
    if isinstance(tool, str):
        raise RuntimeError(tool)
    data.mkdir(parents=True, exist_ok=True)
    port = port_base + FERRETDB_OFFSET
    log = data.parent / f"{data.name}.log"
    out = log.open("ab")
    proc = subprocess.Popen(
        [str(tool), "-handler=sqlite", f"-sqlite-url=file:{data}/", f"-listen-addr=127.0.0.1:{port}",
         "-log-level=warn"],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    child = Child("ferretdb", proc, log)
    deadline = time.monotonic() + timeout
    while not tcp_open(port):
        if proc.poll() is not None:
            raise RuntimeError(f"FerretDB exited ({proc.returncode}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"FerretDB did not listen after {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.1)
    return child, f"mongodb://127.0.0.1:{port}/"
