"""The statistics and the table of bench/storage: pure functions, unit-tested in
dev/tests/test_bench_storage.py.

A figure is one thing measured several times (one sample per run); it is printed as
median (min-max) next to the baseline it rests on, with the ratio of the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Summary:
    """min / median / max of a figure's samples (one per run)."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a summary needs at least one sample")

    @classmethod
    def of(cls, samples: Iterable[float]) -> Summary:
        return cls(tuple(float(s) for s in samples))

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def runs(self) -> int:
        return len(self.samples)

    def spread(self) -> float:
        """(max - min) / median: how far apart the runs were, relative to the median."""
        return (self.max - self.min) / self.median if self.median else float("inf")


def rate(count: float, seconds: float) -> float:
    """count per second; a run that took no measurable time is an error, not infinity."""
    if seconds <= 0:
        raise ValueError(f"a run must take time (got {seconds} s for {count})")
    return count / seconds


def ratio(a: Summary | None, b: Summary | None) -> float | None:
    """Ratio of the medians a/b, or None when either side was not measured (or b is 0)."""
    if a is None or b is None or b.median == 0:
        return None
    return a.median / b.median


def split(total: int, parts: int) -> list[int]:
    """total items in `parts` runs as even as can be (the first runs take the remainder)."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    if total < parts:
        raise ValueError(f"cannot split {total} items into {parts} runs")
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def fmt_number(value: float) -> str:
    """Thousands separated; one decimal below 100, none above; three significant below 1."""
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def fmt_summary(s: Summary | None) -> str:
    if s is None:
        return "—"
    if s.runs == 1:
        return fmt_number(s.median)
    return f"{fmt_number(s.median)} ({fmt_number(s.min)}-{fmt_number(s.max)})"


def fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:.2f}"


@dataclass
class Row:
    """One line of the table: a figure on each target and the raw baseline it rests on."""

    figure: str                                   # e.g. "small-file creates (4 KiB)"
    unit: str                                     # e.g. "/s", "MiB/s"
    targets: dict[str, Summary | None] = field(default_factory=dict)   # "lulea", "hdfs"
    baseline_name: str = ""                       # e.g. "FerretDB insert_one"
    baseline: Summary | None = None


def table(rows: Sequence[Row], targets: Sequence[str]) -> str:
    """A Markdown table: each target's figure, the baseline, each target's ratio to the baseline,
    and lulea/hdfs when both were measured."""
    head = ["figure", "unit", *targets, "baseline", "baseline figure"]
    head += [f"{t}/baseline" for t in targets]
    both = "lulea" in targets and "hdfs" in targets
    if both:
        head.append("lulea/hdfs")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.figure, row.unit]
        cells += [fmt_summary(row.targets.get(t)) for t in targets]
        cells += [row.baseline_name or "—", fmt_summary(row.baseline)]
        cells += [fmt_ratio(ratio(row.targets.get(t), row.baseline)) for t in targets]
        if both:
            cells.append(fmt_ratio(ratio(row.targets.get("lulea"), row.targets.get("hdfs"))))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
