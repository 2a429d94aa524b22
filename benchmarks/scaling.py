"""How ract's time and memory grow with the number of examples and with sequence length.

Each point runs in its own process (so peak memory is that point's own): ``ract detect`` on AG News rows with
30% symmetric noise and default settings. Rows beyond the 10,000-row sample are made by repeating it.
The 120k-row point keeps the frozen-layer cache in a memory-mapped file and, to fit the session, trains for
``--big-epochs`` epochs (default 1); its full 4-epoch time is extrapolated from the measured epoch (training
time is linear in epochs: the schedule is the only thing that depends on the epoch count).

    .venv/bin/python -m benchmarks.scaling --rows 2500,5000,10000 --lengths 32,64,128 --big-rows 0
    .venv/bin/python -m benchmarks.scaling --rows "" --lengths "" --big-rows 120000 --big-epochs 1
    .venv/bin/python -m benchmarks.scaling --rows "" --lengths "" --big-rows 120000 --memory-limit-gb 4   # as root

``--memory-limit-gb`` runs the big point inside a cgroup-v1 memory group with that hard limit on memory (page
cache of the memory-mapped file included: the kernel must reclaim it rather than exceed the limit) and records
the group's peak usage, how often the limit was hit (failcnt) and whether the process was OOM-killed.

Saves benchmarks/results/scaling.json (or scaling_big<rows>.json when only the big point runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from benchmarks.common import save_result
from ract.data import find_data_dir

CGROUP_ROOT = Path("/sys/fs/cgroup/memory")


@contextmanager
def memory_group(limit_gb: float) -> Iterator[Path]:
    """A fresh cgroup-v1 memory group limited to ``limit_gb`` GiB (swap included); removed afterwards."""
    if not (CGROUP_ROOT / "memory.limit_in_bytes").exists():
        sys.exit(f"--memory-limit-gb needs a cgroup-v1 memory controller at {CGROUP_ROOT} (and root)")
    group = CGROUP_ROOT / f"ract-scaling-{os.getpid()}"
    group.mkdir()
    try:
        limit = str(int(limit_gb * 2**30))
        (group / "memory.limit_in_bytes").write_text(limit)
        if (group / "memory.memsw.limit_in_bytes").exists():
            (group / "memory.memsw.limit_in_bytes").write_text(limit)
        yield group
    finally:
        group.rmdir()


def group_usage(group: Path) -> dict:
    """Peak usage (MB), limit hits and OOM state of a memory group, read after its process ended."""
    stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
    return {
        "limit_mb": int((group / "memory.limit_in_bytes").read_text()) / 2**20,
        "max_usage_mb": int((group / "memory.max_usage_in_bytes").read_text()) / 2**20,
        "failcnt": int((group / "memory.failcnt").read_text()),
        "oom_kill": "oom_kill 0" not in (group / "memory.oom_control").read_text(),
        "total_rss_mb_at_end": int(stat.get("total_rss", 0)) / 2**20,
        "total_cache_mb_at_end": int(stat.get("total_cache", 0)) / 2**20,
    }


def run_point(
    data: str, rows: int | None, max_length: int, epochs: int, work: Path, memmap: bool, group: Path | None = None
) -> dict:
    out = work / f"r{rows}_l{max_length}"
    cmd = [sys.executable, "-m", "ract.cli.main", "detect", data, "--inject-noise", "symmetric", "--noise-rate", "0.3",
           "--max-length", str(max_length), "--epochs", str(epochs), "--output-dir", str(out), "--quiet"]  # fmt: skip
    if rows is not None:
        cmd += ["--limit", str(rows)]
    if memmap:
        cmd += ["--memmap-dir", str(work)]
    join_group = None
    if group is not None:
        procs = group / "cgroup.procs"

        def join_group() -> None:  # runs in the child before exec: the child and its threads join the group
            procs.write_text(str(os.getpid()))

    completed = subprocess.run(cmd, preexec_fn=join_group)
    usage = group_usage(group) if group is not None else None
    if completed.returncode != 0:
        sys.exit(f"ract detect failed with exit code {completed.returncode}; memory group: {usage}")
    summary = json.loads((out / "summary.json").read_text())
    point = {
        "rows": summary["data"]["num_examples"],
        "max_length": max_length,
        "epochs": epochs,
        "memmap": memmap,
        "timings_seconds": summary["timings_seconds"],
        "peak_rss_mb": summary["peak_rss_mb"],
        "memory_at_end_mb": summary["memory_at_end_mb"],
        "metrics": summary["metrics"],
        "memory_group": usage,
    }
    print(json.dumps(point), flush=True)
    return point


def repeated_sample(rows: int, folder: Path) -> str:
    """A CSV of ``rows`` rows made by repeating the AG News sample (labels unchanged)."""
    sample = pd.read_csv(find_data_dir() / "ag_news" / "train.csv.gz")
    repeats = -(-rows // len(sample))
    path = folder / f"ag_news_x{repeats}.csv"
    pd.concat([sample] * repeats, ignore_index=True).iloc[:rows].to_csv(path, index=False)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="2500,5000,10000")
    parser.add_argument("--lengths", default="32,64,128", help="max tokens per text, at --length-rows rows")
    parser.add_argument("--length-rows", type=int, default=2500)
    parser.add_argument("--big-rows", type=int, default=120000, help="0 to skip")
    parser.add_argument("--big-epochs", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--memory-limit-gb", type=float, default=None, help="run the big point under this hard limit")
    args = parser.parse_args()

    points, length_points, big = [], [], None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for rows in (int(r) for r in args.rows.split(",") if r):
            points.append(run_point("ag_news", rows, 128, args.epochs, work, memmap=False))
        for length in (int(n) for n in args.lengths.split(",") if n):
            length_points.append(run_point("ag_news", args.length_rows, length, args.epochs, work, memmap=False))
        if args.big_rows:
            data = repeated_sample(args.big_rows, work)
            if args.memory_limit_gb:
                with memory_group(args.memory_limit_gb) as group:
                    big = run_point(data, None, 128, args.big_epochs, work, memmap=True, group=group)
            else:
                big = run_point(data, None, 128, args.big_epochs, work, memmap=True)
            train = big["timings_seconds"]["train"]
            big["extrapolated_total_seconds_at_default_epochs"] = (
                big["timings_seconds"]["total"] - train + train * args.epochs / args.big_epochs
            )
    name = "scaling" if points or length_points else f"scaling_big{args.big_rows}"
    if args.memory_limit_gb and not (points or length_points):
        name += f"_limit{args.memory_limit_gb:g}gb"
    save_result(name, {"config": vars(args), "rows": points, "lengths": length_points, "big": big})


if __name__ == "__main__":
    main()
