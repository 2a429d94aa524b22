"""benchmarks/threshold_study.py on two hand-made `ract detect` output folders (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import threshold_study
from ract.detection.scores import class_probabilities, mean_loss


def _fake_run(folder: Path, logits: np.ndarray, labels: np.ndarray, is_noisy: np.ndarray | None) -> None:
    """scores.csv (rows sorted by score, as ract writes it), dynamics.npz and summary.json of a detect run."""
    folder.mkdir()
    table = pd.DataFrame(
        {
            "index": np.arange(len(labels)),
            "noise_score": mean_loss(logits, labels),
            "given_label": labels,
            "predicted_label": class_probabilities(logits).argmax(1),
        }
    )
    noise = None
    if is_noisy is not None:
        table["is_noisy"] = is_noisy
        noise = {"kind": "symmetric", "requested_rate": 0.2}
    table.sort_values("noise_score", ascending=False).to_csv(folder / "scores.csv", index=False)
    np.savez(folder / "dynamics.npz", logits=logits.astype(np.float16), labels=labels, ranks=np.array([4, 16]))
    (folder / "summary.json").write_text(json.dumps({"noise_injection": noise}), encoding="utf-8")


def test_threshold_study_rethresholds_saved_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, c = 1200, 3
    true = rng.integers(0, c, n)
    logits = rng.normal(0, 0.3, size=(2, 2, n, c))
    logits[:, :, np.arange(n), true] += 3.0  # the adapters predict the true class
    flipped = rng.random(n) < 0.2
    noisy = np.where(flipped, (true + rng.integers(1, c, n)) % c, true)
    _fake_run(tmp_path / "clean", logits, true, None)
    _fake_run(tmp_path / "noisy", logits, noisy, flipped)
    threshold_study.main([str(tmp_path / "clean"), str(tmp_path / "noisy"), "--out-dir", str(tmp_path)])
    result = json.loads((tmp_path / "threshold_study.json").read_text(encoding="utf-8"))
    clean, noisy_run = result["runs"][str(tmp_path / "clean")], result["runs"][str(tmp_path / "noisy")]
    assert noisy_run["setting"] == "symmetric 0.2" and clean["setting"] == "clean"
    assert clean["pair_floors"]["num_flagged"] == 0 and clean["even_odds_floor"]["num_flagged"] == 0
    for rule in ("chance_floor", "even_odds_floor", "pair_floors", "confident"):
        assert noisy_run[rule]["f1"] > 0.95, rule
    assert [row["noise_rate"] for row in result["mixed"]] == list(threshold_study.RATES)
