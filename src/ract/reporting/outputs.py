"""The files a detection run leaves in ``--output-dir``: ``scores.csv`` and ``summary.json``.

Both are written atomically (see :mod:`ract.atomic`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ract.atomic import atomic_path, write_text_atomic

SCORES_FILE = "scores.csv"
SUMMARY_FILE = "summary.json"
DYNAMICS_FILE = "dynamics.npz"


def library_versions() -> dict[str, str]:
    """Versions of ract and the libraries whose behaviour shapes its results."""
    out = {"python": platform.python_version()}
    for name in ("ract", "torch", "transformers", "peft", "numpy", "scikit-learn", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict[str, object]:
    """CPU model, core count and torch thread count, for reading timings later."""
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_status_mb() -> dict[str, float]:
    """This process's memory now, in MiB, from /proc/self/status (Linux; empty elsewhere).

    ``VmHWM`` is the peak resident set; ``RssAnon`` is private memory the process allocated; ``RssFile`` is
    file-backed pages, e.g. a memory-mapped cache, which the kernel can evict under pressure.
    """
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def git_commit(folder: str | Path | None = None) -> str | None:
    """The commit of the checkout ``folder`` (default: this file's), or None outside a git checkout."""
    folder = Path(folder) if folder else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder, capture_output=True, text=True
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def to_jsonable(value: object) -> object:
    """numpy scalars/arrays, tuples and Paths -> plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(to_jsonable(payload), indent=2) + "\n")


def write_scores_csv(path: str | Path, table: pd.DataFrame) -> None:
    """Write the per-example table sorted by noise score (most suspicious first), atomically."""
    ordered = table.sort_values("noise_score", ascending=False, kind="stable")
    with atomic_path(path) as tmp:
        ordered.to_csv(tmp, index=False)


def write_dynamics(path: str | Path, logits: np.ndarray, labels: np.ndarray, ranks: list[int]) -> None:
    """Save the (A, E, n, C) per-epoch logits (float16) for reports and later analysis, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, logits=logits.astype(np.float16), labels=labels, ranks=np.asarray(ranks))
