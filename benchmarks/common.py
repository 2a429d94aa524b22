"""What every benchmark shares: the noisy AG News sample and the provenance saved beside each figure."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from ract.data import load_data
from ract.noise import inject_noise
from ract.reporting.outputs import git_commit, library_versions, machine_info, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def noisy_ag_news(
    rows: int | None = None, rate: float = 0.3, kind: str = "symmetric", seed: int = 0, noise_seed: int | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The AG News train sample (``rows`` seeded rows, all 10,000 when None) with injected noise.

    Returns (texts, noisy labels (n,), clean labels (n,)). Data comes from ``$RACT_DATA_DIR`` or ../shared/data.
    """
    data = load_data("ag_news", limit=rows, seed=seed)
    noise = inject_noise(data.labels, data.num_classes, kind, rate, seed if noise_seed is None else noise_seed)
    return data.texts, noise.noisy_labels, data.labels


def provenance() -> dict:
    """Commit, machine, library versions and the time, saved with every result."""
    return {
        "commit": git_commit(Path(__file__).resolve().parent),
        "machine": machine_info(),
        "versions": library_versions(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data_dir": os.environ.get("RACT_DATA_DIR", "../shared/data"),
    }


def save_result(name: str, payload: dict, out_dir: Path = RESULTS, echo: bool = True) -> Path:
    """Write ``<out_dir>/<name>.json`` (default benchmarks/results) with the provenance added, and print it
    (only the path when ``echo`` is False, e.g. for a file rewritten after every step)."""
    path = Path(out_dir) / f"{name}.json"
    write_json(path, {**payload, "provenance": provenance()})
    if echo:
        print(json.dumps(payload, indent=2, default=str))
    print(f"saved {path}", flush=True)
    return path


def save_result_with_figure(name: str, payload: dict, figure: object, out_dir: Path = RESULTS) -> Path:
    """:func:`save_result`, plus the matplotlib ``figure`` beside the JSON as ``<name>.png``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = save_result(name, payload, out_dir)
    FigureCanvasAgg(figure)
    figure.savefig(path.with_suffix(".png"), dpi=110)
    print(f"saved {path.with_suffix('.png')}")
    return path
