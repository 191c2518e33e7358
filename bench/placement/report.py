"""bench/placement's tables: min / median / max per scheduler and case, and lulea-placement's
median over each baseline's, as text and as markdown for docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

import metrics as m

SCHEDULERS = ("kube-scheduler", "kube-gang", "kueue", "kueue-tas", "lulea-placement")

ROWS = {
    "poisson": (
        "jobs_submitted", "jobs_completed", "gangs_started", "jobs_never_started",
        "jct_p50_s", "jct_p99_s", "queue_p50_s", "queue_p99_s", "waiting_at_end_p50_s",
        "sched_latency_p50_s", "sched_latency_p99_s",
        "gpu_utilization", "gpu_allocated", "stranded_share", "stranded_max",
        "partial_gangs_at_end", "partial_gangs_max",
        "fragmentation", "expected_fragmentation", "workload_fragmentation",
        "never_fit_jobs", "never_fit_signalled", "never_fit_verdicts", "never_fit_signal_p50_s",
        "never_fit_bound_pods", "fit_jobs_called_never_fit",
        "kwok_lag_p50_s", "kwok_lag_p99_s", "create_late_p99_s", "watch_relists",
    ),
    "batch": (
        "jobs_submitted", "gangs_whole", "pods_bound", "pods_bound_per_s", "gangs_whole_per_s",
        "sched_latency_p50_s", "sched_latency_p99_s", "partial_gangs_at_end", "stranded_max",
        "fragmentation", "expected_fragmentation", "never_fit_signal_p50_s", "never_fit_verdicts",
        "kwok_lag_p50_s", "kwok_lag_p99_s", "create_late_p99_s",
    ),
}


RATIOS = {
    "poisson": ("jobs_completed", "gpu_utilization", "jct_p50_s", "jct_p99_s", "queue_p50_s", "queue_p99_s",
                "sched_latency_p50_s", "partial_gangs_max", "expected_fragmentation"),
    "batch": ("pods_bound_per_s", "gangs_whole_per_s", "sched_latency_p50_s", "sched_latency_p99_s"),
}


def table(results: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    for case, by in results.items():
        labels = [x for x in SCHEDULERS if x in by]
        runs = max(len(v) for v in by.values())
        cores = sorted({k for rs in by.values() for r in rs for k in r if k.startswith("cores_")})
        print(f"\n== {case}: min / median / max over {runs} run(s)")
        print(f"{'metric':26}" + "".join(f"{x:>19}" for x in labels))
        for key in (*ROWS[case], *cores, "load_1m_before", "load_1m_after"):
            cells = []
            for x in labels:
                s = m.spread(r.get(key) for r in by[x] if "error" not in r or key in r)
                cells.append("-" if s is None else "/".join(_fmt(v) for v in s))
            print(f"{key:26}" + "".join(f"{cell:>19}" for cell in cells))
        errors = [(x, r["error"]) for x in labels for r in by[x] if "error" in r]
        for x, e in errors:
            print(f"  {x}: {e}")
        if "lulea-placement" not in by:
            continue
        print(f"\n{case}: lulea-placement's median over each baseline's median (same run)")
        print(f"{'metric':26}" + "".join(f"{x:>16}" for x in labels if x != "lulea-placement"))
        for key in RATIOS[case]:
            mine = m.spread(r.get(key) for r in by["lulea-placement"])
            cells = []
            for x in labels:
                if x == "lulea-placement":
                    continue
                theirs = m.spread(r.get(key) for r in by[x])
                ok = mine is not None and theirs is not None and theirs[1]
                cells.append(f"{mine[1] / theirs[1]:.2f}" if ok and mine and theirs else "-")
            print(f"{key:26}" + "".join(f"{cell:>16}" for cell in cells))


def markdown(results: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    """The same table as markdown (min / median / max per cell), for docs/benchmarks.md."""
    for case, by in results.items():
        labels = [x for x in SCHEDULERS if x in by]
        cores = sorted({k for rs in by.values() for r in rs for k in r if k.startswith("cores_")})
        print(f"\n{case} ({max(len(v) for v in by.values())} runs; min / median / max)\n")
        print("| metric | " + " | ".join(labels) + " |")
        print("|---|" + "---|" * len(labels))
        for key in (*ROWS[case], *cores, "load_1m_before", "load_1m_after"):
            cells = []
            for x in labels:
                sp = m.spread(r.get(key) for r in by[x])
                cells.append("-" if sp is None else " / ".join(_fmt(v) for v in sp))
            print(f"| {key} | " + " | ".join(cells) + " |")


def _fmt(v: float) -> str:
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"
