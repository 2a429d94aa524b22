"""``ract report``: a self-contained, escaped HTML page built from a synthetic detection output folder."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ract.cli import report as report_cli
from ract.errors import RactError
from ract.reporting.html_report import build_report, cross_entropy
from ract.reporting.outputs import write_dynamics, write_json, write_scores_csv

NAMES = ["World", "Sports", "Business"]
XSS = "<script>alert(1)</script>"
METRICS = {
    "precision": 0.81234, "recall": 0.76543, "f1": 0.78811, "auroc": 0.93456, "auprc": 0.84321,
    "f1_at_true_count": 0.80001,
}  # fmt: skip


def synthetic_dynamics(labels: np.ndarray, clean: np.ndarray, epochs: int, ranks: list[int], rng) -> np.ndarray:
    """(A, E, n, C) logits: clean examples fit their label; the high rank slowly memorises noisy labels."""
    n, c = len(labels), int(labels.max()) + 1
    logits = rng.normal(0.0, 0.7, size=(len(ranks), epochs, n, c))
    for a in range(len(ranks)):
        for e in range(epochs):
            progress = (e + 1) / epochs
            logits[a, e, np.arange(n), clean] += 2.5 * progress
            logits[a, e, np.arange(n), labels] += 2.5 * progress * (a / max(len(ranks) - 1, 1)) * (labels != clean)
    return logits


def write_run(folder: Path, n: int = 300, seed: int = 0, names: list[str] = NAMES, texts: list[str] | None = None):
    """Write scores.csv, summary.json and dynamics.npz of a fake run (C classes, A=2, E=4, 20% noisy)."""
    rng = np.random.default_rng(seed)
    c, ranks, epochs = len(names), [4, 16], 4
    clean = rng.integers(0, c, size=n)
    noisy = rng.random(n) < 0.2
    labels = np.where(noisy, (clean + rng.integers(1, c, size=n)) % c, clean)
    logits = synthetic_dynamics(labels, clean, epochs, ranks, rng)
    score = cross_entropy(logits, labels).mean(axis=(0, 1))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs = (probs / probs.sum(-1, keepdims=True))[0].mean(axis=0)
    threshold = float(np.quantile(score, 0.78))
    flagged = score > threshold
    texts = texts or [f"example text number {i} about {names[clean[i]]}" for i in range(n)]
    names_arr = np.asarray(names, dtype=object)
    table = pd.DataFrame(
        {"index": np.arange(n) * 2 + 5, "text": texts, "is_label_issue": flagged,
         "label_quality": probs[np.arange(n), labels], "noise_score": score, "given_label": names_arr[labels],
         "predicted_label": names_arr[probs.argmax(1)], "loss_rank_4": score, "loss_rank_16": score / 2,
         "true_label": names_arr[clean], "is_noisy": labels != clean}
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    write_scores_csv(folder / "scores.csv", table)
    write_dynamics(folder / "dynamics.npz", logits, labels, ranks)
    write_json(folder / "summary.json", summary_payload(n, names, int(flagged.sum()), threshold))
    return table


def summary_payload(n: int, names: list[str], num_flagged: int, threshold: float) -> dict:
    return {
        "command": "detect",
        "data": {"source": "synthetic.csv", "split": "train", "num_examples": n, "num_classes": len(names),
                 "label_names": names, "notes": ["dropped 2 empty texts"], "ground_truth_known": True},
        "noise_injection": {"kind": "symmetric", "requested_rate": 0.2, "realised_rate": 0.2,
                            "num_flipped": n // 5, "seed": 0},
        "config": {"model": "minilm", "ranks": [4, 16], "epochs": 4, "adapted_layers": 2, "batch_size": 32,
                   "lr": 0.001, "max_length": 128, "precision": "fp32", "score": "mean_loss", "threshold": "auto",
                   "seed": 0},
        "versions": {"python": "3.11"},
        "machine": {"cpu": "test", "cores": 2},
        "timings_seconds": {"load_model": 1.25, "tokenize": 0.5, "cache_frozen_layers": 3.0, "train": 42.5,
                            "score": 0.1, "total": 47.35},
        "examples_per_second": 28.2,
        "peak_rss_mb": 812.0,
        "counts": {"num_flagged": num_flagged, "num_changed_suggestion": 55},
        "threshold": {"rule": "auto", "value": threshold, "estimated_noise_rate": 0.2167},
        "estimated_noise_rate": 0.2167,
        "metrics": {**METRICS, "num_flagged": num_flagged, "num_noisy": n // 5, "num_examples": n},
    }  # fmt: skip


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    texts = [f"row {i}" for i in range(300)]
    texts[7] = XSS
    write_run(tmp_path / "out", texts=texts)
    return tmp_path / "out"


def test_report_is_one_self_contained_file(run_dir: Path) -> None:
    before = set(run_dir.iterdir())
    path = build_report(run_dir)
    assert path == run_dir / "report.html"
    assert set(run_dir.iterdir()) - before == {path}, "exactly one new file"
    assert path.stat().st_size < 5_000_000
    page = path.read_text(encoding="utf-8")
    assert 'src="http' not in page and "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("data:image/png;base64,") >= 4
    assert len(re.findall(r"<script>", page)) == 1, "only the page's own script"


def test_report_shows_summary_numbers(run_dir: Path) -> None:
    page = build_report(run_dir).read_text(encoding="utf-8")
    summary = json.loads((run_dir / "summary.json").read_text())
    flagged = summary["counts"]["num_flagged"]
    assert f'id="num-flagged">{flagged}<' in page
    for key in ("precision", "recall", "f1", "auroc", "auprc"):
        assert f'id="metric-{key}">{METRICS[key]:.3f}<' in page
    assert "0.788" in page and "0.935" in page  # F1, AUROC to 3 decimals
    assert 'id="estimated-noise-rate">0.217<' in page
    assert "42.5 s" in page and "minilm" in page and "4, 16" in page
    assert "dropped 2 empty texts" in page


def test_report_escapes_data(run_dir: Path) -> None:
    page = build_report(run_dir, top=300).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page


def test_report_escapes_label_names(tmp_path: Path) -> None:
    names = ["<b>bold</b>", "$money", "a&b"]  # a '$' would start matplotlib mathtext
    write_run(tmp_path / "out", n=120, names=names)
    page = build_report(tmp_path / "out").read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "a&amp;b" in page


def test_table_lists_top_rows_most_suspicious_first(run_dir: Path) -> None:
    page = build_report(run_dir, top=25).read_text(encoding="utf-8")
    body = page.split('<table id="top-table">', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr") == 26  # header + 25 rows
    header = re.findall(r"<th[^>]*>(.*?)</th>", body)
    column = header.index("noise score")
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("<tr")[2:]]
    values = [float(cells[column]) for cells in rows]
    assert values == sorted(values, reverse=True), "noise scores descending"
    assert rows[0][header.index("flagged")] == "yes"
    assert 'id="top-filter"' in page


def test_missing_summary_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "summary.json").unlink()
    with pytest.raises(RactError, match=r"no summary\.json in .*ract detect"):
        build_report(run_dir)


def test_missing_or_broken_scores_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "scores.csv").write_text("index,text\n1,a\n")
    with pytest.raises(RactError, match=r"scores\.csv lacks the column"):
        build_report(run_dir)
    (run_dir / "scores.csv").unlink()
    with pytest.raises(RactError, match=r"no scores\.csv"):
        build_report(run_dir)


def test_dynamics_from_another_run_is_an_error(run_dir: Path, tmp_path: Path) -> None:
    write_run(tmp_path / "other", n=200)
    (tmp_path / "other" / "dynamics.npz").replace(run_dir / "dynamics.npz")
    with pytest.raises(RactError, match=r"dynamics\.npz"):
        build_report(run_dir)


def test_missing_dynamics_still_builds_with_a_note(run_dir: Path) -> None:
    (run_dir / "dynamics.npz").unlink()
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "no dynamics.npz" in page and "left out" in page
    assert page.count("data:image/png;base64,") == 2  # histograms and label matrix


def test_cli_report(run_dir: Path) -> None:
    parser = argparse.ArgumentParser()
    report_cli.register(parser.add_subparsers())
    args = parser.parse_args(["report", str(run_dir), "--top", "10"])
    said: list[str] = []
    assert args.run(args, said.append) == 0
    assert (run_dir / "report.html").is_file() and "report.html" in said[-1]
    with pytest.raises(RactError, match="--top"):
        args.run(parser.parse_args(["report", str(run_dir), "--top", "0"]), said.append)
    with pytest.raises(RactError, match="no such folder"):
        args.run(parser.parse_args(["report", str(run_dir / "nope")]), said.append)


def test_large_run_is_small_and_fast(tmp_path: Path) -> None:
    write_run(tmp_path / "big", n=10_000, seed=1)
    started = time.perf_counter()
    path = build_report(tmp_path / "big")
    elapsed = time.perf_counter() - started
    assert path.stat().st_size < 5_000_000
    assert elapsed < 15.0, f"report of 10,000 examples took {elapsed:.1f}s"
