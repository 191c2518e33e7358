"""bench/storage's statistics and table (bench/storage/figures.py, run.rows): pure, no I/O."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "storage"))

import figures
import run as storage_run
from figures import Row, Summary, rate, ratio, split, table
from subjects import Plan


def test_summary_is_min_median_max_of_the_runs() -> None:
    s = Summary.of([30, 10, 20])
    assert (s.min, s.median, s.max, s.runs) == (10, 20, 30, 3)
    assert Summary.of([1, 2, 3, 10]).median == 2.5          # even count: mean of the middle two
    assert s.spread() == pytest.approx(1.0)                 # (30 - 10) / 20


def test_summary_needs_a_sample() -> None:
    with pytest.raises(ValueError):
        Summary.of([])


def test_rate_refuses_a_run_that_took_no_time() -> None:
    assert rate(500, 2.0) == 250
    with pytest.raises(ValueError):
        rate(1, 0.0)


def test_ratio_is_of_the_medians_and_absent_when_a_side_is() -> None:
    a, b = Summary.of([10, 40, 1000]), Summary.of([20, 80, 1])
    assert ratio(a, b) == pytest.approx(40 / 20)
    assert ratio(a, None) is None and ratio(None, b) is None
    assert ratio(a, Summary.of([0, 0, 0])) is None


def test_split_covers_every_item_once_and_evenly() -> None:
    assert split(10, 3) == [4, 3, 3]
    assert sum(split(100_000, 3)) == 100_000
    with pytest.raises(ValueError):
        split(2, 3)


def test_numbers_are_formatted_by_size() -> None:
    assert figures.fmt_number(123456.7) == "123,457"
    assert figures.fmt_number(42.25) == "42.2"
    assert figures.fmt_number(0.4361) == "0.436"
    assert figures.fmt_summary(Summary.of([3, 1, 2])) == "2.0 (1.0-3.0)"
    assert figures.fmt_summary(None) == "—"


def test_table_has_each_target_the_baseline_and_the_ratios() -> None:
    row = Row("creates", "/s", {"lulea": Summary.of([300, 200, 100]), "hdfs": Summary.of([50, 40, 60])},
              "insert_one", Summary.of([400, 500, 600]))
    lines = table([row], ["hdfs", "lulea"]).splitlines()
    assert lines[0] == ("| figure | unit | hdfs | lulea | baseline | baseline figure | hdfs/baseline "
                        "| lulea/baseline | lulea/hdfs |")
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells == ["creates", "/s", "50.0 (40.0-60.0)", "200 (100-300)", "insert_one",
                     "500 (400-600)", "0.10", "0.40", "4.00"]


def test_table_without_a_target_shows_dashes_and_no_lulea_hdfs_column() -> None:
    row = Row("stats", "/s", {"hdfs": None}, "find_one", Summary.of([1, 2, 3]))
    lines = table([row], ["hdfs"]).splitlines()
    assert "lulea/hdfs" not in lines[0]
    assert [c.strip() for c in lines[2].strip("|").split("|")] == [
        "stats", "/s", "—", "find_one", "2.0 (1.0-3.0)", "—"]


def test_rows_pair_each_figure_with_the_operation_it_rests_on() -> None:
    res = storage_run.Results()
    for subject, figure, value in [
        ("mongo", "creates", 1000), ("mongo", "stats", 2000), ("mongo", "stats_fields", 3),
        ("mongo", "listings", 0.5), ("mongo", "stream_write", 40), ("mongo", "stream_read", 50),
        ("disk", "stream_write", 400), ("disk", "stream_read", 900),
        ("hdfs", "creates", 100), ("hdfs", "stats", 1500), ("hdfs", "listings", 20),
        ("hdfs", "stream_write", 80), ("hdfs", "stream_read", 300),
    ]:
        for k in range(3):
            res.add(subject, figure, value * (1 + k / 10))
    rows = storage_run.rows(Plan(files=100_000, stream_mib=1024), res, ["hdfs"])
    got = {(r.figure.split(" (")[0], r.baseline_name.split(" ")[0]): ratio(r.targets["hdfs"], r.baseline)
           for r in rows}
    assert got[("small-file creates", "insert_one")] == pytest.approx(100 / 1000)
    assert got[("stats", "find_one")] is not None
    assert got[("listings", "find")] == pytest.approx(20 / 0.5)
    assert got[("streaming write", "chunk")] == pytest.approx(80 / 40)
    assert got[("streaming write", "local")] == pytest.approx(80 / 400)
    assert got[("streaming read", "local")] == pytest.approx(300 / 900)
    stats_rows = [r for r in rows if r.figure.startswith("stats")]
    assert [r.baseline for r in stats_rows] == [res.get("mongo", "stats"), res.get("mongo", "stats_fields")]


def test_rows_say_how_the_finds_by_fields_ran() -> None:
    res = storage_run.Results()
    for figure in ("stats_fields", "listings"):
        res.add("mongo", figure, 10.0)
    labels = {r.baseline_name for r in storage_run.rows(Plan(), res, [])}
    assert "find by parent (1 in flight)" in labels
    labels = {r.baseline_name for r in storage_run.rows(Plan(), res, [], scan_concurrency=16)}
    assert "find by parent (16 in flight, GIN-indexed)" in labels
    assert "find_one by {parent, name} (16 in flight, GIN-indexed)" in labels


def test_plan_spreads_files_over_directories() -> None:
    plan = Plan(files=2_500, dir_size=1_000)
    assert plan.dirs == 3
    assert [plan.files_in(d) for d in range(3)] == [1000, 1000, 500]
    assert plan.dir_of(999) == 0 and plan.dir_of(1000) == 1
