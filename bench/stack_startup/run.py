"""Start-up time and memory of the local stack.

Measures, on its own ports and state directory (never the developer's stack):
  cold  `up` on an empty state directory (certificates, etcd, Kafka format, fleet, CRDs)
  warm  `up` again after `down`, with the state kept (what `make up` costs day to day)
and the peak resident memory of the stack's processes. Tools must be built (make tools);
the one-off tool build time is printed from the cache's build logs when known.
Baseline in the same run: the bare control plane (etcd + kube-apiserver ready) within the cold start.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

from lulea.devstack import stack
from lulea.devstack.layout import Layout, tool_paths

STATE = Path("/tmp/lulea-bench-stack-startup")
PORT_BASE = 25000


class PeakMemory(threading.Thread):
    """Samples the summed RSS of the stack's processes (and their children) every 100 ms."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(daemon=True)
        self.layout, self.peak, self.by_name, self.stop = layout, 0, {}, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for pidfile in self.layout.pids.glob("*.pid"):
                try:
                    proc = psutil.Process(int(pidfile.read_text().split()[0]))
                    rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
                except (psutil.Error, ValueError, FileNotFoundError):
                    continue
                self.by_name[pidfile.stem] = max(self.by_name.get(pidfile.stem, 0), rss)
                total += rss
            self.peak = max(self.peak, total)
            time.sleep(0.1)


def timed_up(layout: Layout) -> tuple[float, dict[str, float]]:
    t0 = time.monotonic()
    result = stack.up(layout)
    return time.monotonic() - t0, dict(result["timings"])  # type: ignore[arg-type]


def main() -> int:
    shutil.rmtree(STATE, ignore_errors=True)
    layout = Layout(STATE, PORT_BASE, tools=tool_paths())
    layout.ensure_dirs()
    sampler = PeakMemory(layout)
    sampler.start()
    try:
        cold, cold_parts = timed_up(layout)
        time.sleep(5)  # let the operators settle so the memory peak includes steady state
        stack.down(layout)
        warm, warm_parts = timed_up(layout)
        time.sleep(5)
    finally:
        stack.down(layout)
        sampler.stop.set()
        sampler.join()
    control_plane = cold_parts.get("etcd", 0) + cold_parts.get("kube-apiserver", 0)
    print("stack start-up (tools already built)")
    print(f"  cold start (empty state):     {cold:6.1f} s")
    print(f"  warm start (state kept):      {warm:6.1f} s   ratio warm/cold {warm / cold:.2f}")
    print(f"  baseline: etcd+apiserver cold {control_plane:6.1f} s   ratio cold/baseline "
          f"{cold / control_plane:.1f}x")
    print("  per component, cold / warm (s):")
    for name in cold_parts:
        print(f"    {name:<26} {cold_parts[name]:6.1f} / {warm_parts.get(name, 0):6.1f}")
    print(f"  peak RSS of the whole stack:  {sampler.peak / 2**20:6.0f} MiB")
    for name, rss in sorted(sampler.by_name.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<26} {rss / 2**20:6.0f} MiB")
    builds = sorted(Path.home().glob(".cache/lulea/logs/build-*.log"))
    if builds:
        print(f"  tool builds cached: {len(builds)} (first build time: see docs/benchmarks.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
