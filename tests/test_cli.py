"""The ``ract`` command end to end: a small real run, and clear errors (exit 2, no traceback) for mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ract.cli.main import main
from tests.conftest import SHARED_DATA

FAST = ["--epochs", "2", "--adapted-layers", "1", "--quiet"]


@pytest.mark.skipif(not (SHARED_DATA / "ag_news").exists(), reason="shared AG News copy not present")
def test_detect_end_to_end_on_ag_news(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        ["detect", "ag_news", "--data-dir", str(SHARED_DATA), "--inject-noise", "symmetric", "--noise-rate", "0.3",
         "--limit", "240", "--output-dir", str(out), "--report", *FAST]
    )  # fmt: skip
    assert code == 0
    scores = pd.read_csv(out / "scores.csv")
    expected = {"index", "text", "given_label", "predicted_label", "label_quality", "noise_score", "is_label_issue",
                "loss_rank_4", "loss_rank_16", "true_label", "is_noisy"}  # fmt: skip
    assert expected <= set(scores.columns)
    assert len(scores) == 240
    assert scores["noise_score"].is_monotonic_decreasing
    assert set(scores["given_label"]) <= {"World", "Sports", "Business", "Sci/Tech"}
    assert scores["is_noisy"].sum() == 72  # exactly 30% flipped
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["metrics"]
    for key in ("precision", "recall", "f1", "auroc", "auprc"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["auroc"] > 0.6, "two epochs on 240 rows should already rank noisy labels above chance"
    assert summary["noise_injection"]["realised_rate"] == pytest.approx(0.3)
    assert summary["counts"]["num_flagged"] == int(scores["is_label_issue"].sum())
    assert set(summary["timings_seconds"]) >= {"train", "cache_frozen_layers", "total"}
    assert summary["config"]["ranks"] == [4, 16]
    transition = summary["learned_transition"]  # {predicted class: {label: mean probability}}
    assert set(transition) == {"World", "Sports", "Business", "Sci/Tech"}
    for row in filter(None, transition.values()):
        assert set(row) == set(transition) and sum(row.values()) == pytest.approx(1.0, abs=1e-3)
    html = (out / "report.html").read_text()
    assert f"{metrics['f1']:.3f}" in html and "data:image/png;base64" in html


def test_detect_on_own_csv_with_string_labels(tmp_path: Path, toy_texts) -> None:
    texts, labels = toy_texts
    path = tmp_path / "mine.csv"
    names = ["sport", "money"]
    pd.DataFrame({"sentence": texts, "topic": [names[i] for i in labels]}).to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["detect", str(path), "--text-column", "sentence", "--label-column", "topic",
                 "--output-dir", str(out), "--threshold", "rate:0.1", *FAST])  # fmt: skip
    assert code == 0
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["given_label"]) == {"sport", "money"}
    assert scores["is_label_issue"].sum() == round(0.1 * len(texts))
    assert "is_noisy" not in scores.columns
    assert json.loads((out / "summary.json").read_text())["metrics"] is None


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ract.cli.main", *args], capture_output=True, text=True, timeout=300)


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_building_the_command_line_does_not_load_torch() -> None:
    """torch, transformers and peft take seconds to import: ``ract --help``, review, clean and report need none."""
    result = _run_python("import sys, ract.cli.main; print('torch' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_every_parser_builds_without_heavy_libraries() -> None:
    code = (
        "import sys; from ract.cli.main import build_parser\n"
        "parser = build_parser()\n"
        "for sub in parser._subparsers._group_actions[0].choices.values(): sub.format_help()\n"
        "heavy = ('torch', 'transformers', 'peft', 'sklearn', 'pandas', 'matplotlib', 'flask')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_exits_0_and_lists_every_command() -> None:
    script = Path(sys.executable).with_name("ract")  # the installed console script, if there is one
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ract.cli.main"]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for name in ("detect", "train", "predict", "clean", "report", "review", "rank", "bench"):
        assert name in result.stdout
    review = subprocess.run([*command, "review", "--help"], capture_output=True, text=True, timeout=300)
    assert review.returncode == 0, review.stderr


def test_package_names_are_imported_on_first_access() -> None:
    code = (
        "import sys, ract; assert 'torch' not in sys.modules\n"
        "assert {'RACT', 'DetectConfig', 'find_label_issues', 'RactError', '__version__'} <= set(dir(ract))\n"
        "from ract import RACT, DetectConfig, RactError, __version__, find_label_issues\n"
        "import ract.detection.pipeline as pipeline, ract.errors as errors\n"
        "assert (RACT, DetectConfig, find_label_issues) == "
        "(pipeline.RACT, pipeline.DetectConfig, pipeline.find_label_issues)\n"
        "assert RactError is errors.RactError and __version__ == ract.__version__\n"
        "print('ok')"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "missing.csv", "--output-dir", "o"], "not found"),
        (["detect", "{csv}", "--label-column", "nope", "--output-dir", "o"], "nope"),
        (["detect", "{csv}", "--noise-rate", "1.2", "--inject-noise", "symmetric", "--output-dir", "o"], "rate"),
        (["detect", "{csv}", "--threshold", "often", "--output-dir", "o"], "--threshold"),
        (["detect", "{csv}", "--ranks", "16,4", "--output-dir", "o"], "lowest first"),
        (["detect", "{csv}", "--num-labels", "1", "--output-dir", "o"], "label"),
        (["detect", "{csv}", "--dropout", "lots", "--output-dir", "o"], "--dropout"),
        (["detect", "{csv}", "--dropout", "1.5", "--output-dir", "o"], "--dropout"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    csv = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "label": [0, 1, 1]}).to_csv(csv, index=False)
    result = _run_cli(*[a.replace("{csv}", str(csv)) for a in args])
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr


def test_clean_removes_or_relabels_flagged_rows(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]}).to_csv(data, index=False)
    scores = tmp_path / "scores.csv"
    pd.DataFrame(
        {"index": [2, 0, 1], "is_label_issue": [True, False, False], "predicted_label": ["y", "x", "y"]}
    ).to_csv(scores, index=False)
    out = tmp_path / "clean.csv"
    assert main(["clean", str(data), "--scores", str(scores), "--output", str(out), "--quiet"]) == 0
    cleaned = pd.read_csv(out)
    assert cleaned["text"].tolist() == ["a", "b", "d"]
    assert cleaned["ract_change"].tolist() == ["kept", "kept", "not scored"]
    relabelled = tmp_path / "relabel.jsonl"
    args = ["clean", str(data), "--scores", str(scores), "--action", "relabel", "--output", str(relabelled), "--quiet"]
    assert main(args) == 0
    frame = pd.read_json(relabelled, lines=True)
    assert frame["label"].tolist() == ["x", "y", "y", "y"]
    assert frame["ract_change"][2] == "relabelled: x -> y"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"index": [9], "is_label_issue": [True], "predicted_label": ["x"]}).to_csv(bad, index=False)
    assert main(["clean", str(data), "--scores", str(bad), "--output", str(out), "--quiet"]) == 2


@pytest.mark.parametrize("method", ["small_loss", "cleanlab_embeddings"])
def test_detect_with_a_peer_method_writes_the_same_files(tmp_path: Path, toy_texts, method: str) -> None:
    texts, labels = toy_texts
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["detect", str(path), "--method", method, "--output-dir", str(out), *FAST]) == 0
    scores = pd.read_csv(out / "scores.csv")
    assert {"index", "text", "is_label_issue", "noise_score", "given_label", "predicted_label"} <= set(scores.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == method and summary["files"]["dynamics"] is None
    assert summary["learned_transition"] is None  # RACT only
    assert not (out / "dynamics.npz").exists()


def test_detect_with_instance_noise_records_the_realised_rate(tmp_path: Path, toy_texts) -> None:
    texts, labels = toy_texts
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["detect", str(path), "--inject-noise", "instance", "--noise-rate", "0.2", "--output-dir", str(out), *FAST]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    noise = summary["noise_injection"]
    assert noise["kind"] == "instance" and noise["num_flipped"] == round(noise["realised_rate"] * 64)
    scores = pd.read_csv(out / "scores.csv")
    assert scores["is_noisy"].sum() == noise["num_flipped"]
