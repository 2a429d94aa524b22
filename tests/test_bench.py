"""The peer comparison grid (ract.detection.bench), its markdown (ract.reporting.bench_report), ``ract bench`` and
benchmarks/peers.py: parsing and resuming without training, the grid on the 64-text toy set (1 epoch, one adapted
layer; RACT_SKIP_TRAINING_TESTS=1 skips those), and the renderer on hand-made results."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import peers
from ract.cli.main import main
from ract.data import LabelledData
from ract.detection.bench import (
    METHODS,
    Setting,
    forget_cells,
    parse_methods,
    parse_seeds,
    parse_settings,
    run_grid,
    start_results,
)
from ract.detection.pipeline import DetectConfig
from ract.errors import RactError
from ract.reporting.bench_report import render_markdown, target_line
from tests.conftest import training

CONFIG = DetectConfig(epochs=1, adapted_layers=1, lr=3e-3, batch_size=16)
FAST = ["--epochs", "1", "--adapted-layers", "1", "--lr", "3e-3", "--batch-size", "16", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _toy_data(texts: list[str], labels: np.ndarray) -> LabelledData:
    return LabelledData(texts, labels, ["sport", "money"], None, np.arange(len(texts)), "toy")


# --- Parsing and resuming (no training) ---------------------------------------------------------------------------


def test_parse_methods_puts_ract_first_and_names_the_valid_ones() -> None:
    assert parse_methods("small_loss, ract,cleanlab_cv,small_loss") == ["ract", "small_loss", "cleanlab_cv"]
    assert parse_methods("aum") == ["aum"]
    with pytest.raises(RactError, match="unknown method.*'nope'.*valid methods: ract, small_loss"):
        parse_methods("ract,nope")
    assert set(METHODS) >= {"ract", "cleanlab_cv", "coteaching"}


def test_parse_settings_and_seeds() -> None:
    settings = parse_settings("ag_news:symmetric:0.2, trec:asymmetric:0.40")
    assert settings == [Setting("ag_news", "symmetric", 0.2), Setting("trec", "asymmetric", 0.4)]
    assert [s.key for s in settings] == ["ag_news:symmetric:0.2", "trec:asymmetric:0.4"]
    for bad, message in [("ag_news:0.2", "dataset:kind:rate"), ("x:loud:0.2", "noise kind"), ("x:symmetric:1", "rate")]:
        with pytest.raises(RactError, match=message):
            parse_settings(bad)
    assert parse_seeds("2,0,2") == [2, 0]
    with pytest.raises(RactError, match="integers"):
        parse_seeds("a")


def test_start_results_widens_the_grid_and_refuses_to_mix_configs() -> None:
    first = start_results(None, parse_settings("a:symmetric:0.2"), ["ract"], [0], CONFIG, {"rows": 10})
    saved = json.loads(json.dumps({**first, "provenance": {"commit": "x"}}))  # as read back from disk
    widened = start_results(saved, parse_settings("a:symmetric:0.3"), ["aum", "ract"], [1], CONFIG, {"rows": 10})
    assert widened["grid"] == {
        "settings": ["a:symmetric:0.2", "a:symmetric:0.3"],
        "methods": ["ract", "aum"],
        "seeds": [0, 1],
    }
    assert "provenance" not in widened
    with pytest.raises(RactError, match="cannot resume"):
        start_results(saved, [], [], [], DetectConfig(epochs=2, adapted_layers=1), {"rows": 10})
    with pytest.raises(RactError, match="cannot resume"):
        start_results(saved, [], [], [], CONFIG, {"rows": 20})


def test_precision_is_kept_per_run_and_a_run_continues_only_in_its_own_precision(backbone, toy_texts) -> None:
    texts, labels = toy_texts
    settings = [Setting("toy", "symmetric", 0.25)]
    # a file saved before runs recorded their precision: one precision for the file, in config
    old = start_results(None, settings, ["ract"], [0], CONFIG)
    old["config"]["precision"] = "bf16"
    old["settings"]["toy:symmetric:0.25"] = {"runs": {"0": {"methods": {"ract": {"f1": 0.5}}}}}
    old["provenance"] = {"machine": {"cpu": "Intel Xeon"}}
    resumed = start_results(json.loads(json.dumps(old)), settings, ["ract", "small_loss"], [0], CONFIG)
    assert "precision" not in resumed["config"]
    assert resumed["settings"]["toy:symmetric:0.25"]["runs"]["0"]["precision"] == "bf16"
    assert resumed["settings"]["toy:symmetric:0.25"]["runs"]["0"]["cpu"] == "Intel Xeon"
    fp32 = replace(CONFIG, precision="fp32")
    with pytest.raises(RactError, match="started in bf16 and would continue in fp32"):
        run_grid(resumed, settings, [0], ["ract", "small_loss"], lambda _: _toy_data(texts, labels), fp32, backbone)
    run_grid(resumed, settings, [1], ["ract"], lambda _: _toy_data(texts, labels), fp32, backbone)  # a new run
    assert resumed["settings"]["toy:symmetric:0.25"]["runs"]["1"]["precision"] == "fp32"


# --- The grid on the toy set --------------------------------------------------------------------------------------


@training
def test_run_grid_runs_ract_first_saves_every_cell_and_resumes(backbone, toy_texts) -> None:
    texts, labels = toy_texts
    settings, seeds = [Setting("toy", "symmetric", 0.25)], [0]
    methods = ["small_loss", "ract", "data_map"]
    saved: list[list[str]] = []

    def on_cell(results: dict) -> None:
        saved.append(list(results["settings"]["toy:symmetric:0.25"]["runs"]["0"]["methods"]))

    results = start_results(None, settings, methods, seeds, CONFIG)
    run_grid(results, settings, seeds, methods, lambda _: _toy_data(texts, labels), CONFIG, backbone, on_cell, print)
    assert saved == [["ract"], ["ract", "small_loss"], ["ract", "small_loss", "data_map"]]
    run = results["settings"]["toy:symmetric:0.25"]["runs"]["0"]
    assert run["num_noisy"] == 16 and run["realised_noise_rate"] == 0.25
    for method, cell in run["methods"].items():
        for key in ("precision", "recall", "f1", "f1_at_true_count", "auroc", "auprc"):
            assert 0.0 <= cell[key] <= 1.0, (method, key)
        assert cell["wall_seconds"] > 0 and cell["rule"], method
    assert run["methods"]["ract"]["adapter_passes"] == 2.0  # ranks 4 and 16, one epoch
    assert run["methods"]["small_loss"]["adapter_passes"] == 1.0
    shared = [run["methods"][m]["shared_seconds"]["single_adapter"] for m in ("small_loss", "data_map")]
    assert shared[0] == shared[1]  # one training run, charged to both
    json.dumps(results)

    finished = run["methods"]["ract"]["finished_utc"]
    run_grid(results, settings, seeds, methods, lambda _: pytest.fail("nothing to do"), CONFIG, backbone, on_cell)
    assert len(saved) == 3  # every cell was done: nothing ran, nothing loaded
    more = start_results(results, settings, ["ract", "small_loss_final"], seeds, CONFIG)
    run_grid(more, settings, seeds, ["ract", "small_loss_final"], lambda _: _toy_data(texts, labels), CONFIG, backbone)
    assert set(run["methods"]) == {"ract", "small_loss", "data_map", "small_loss_final"}
    assert run["methods"]["ract"]["finished_utc"] == finished

    assert forget_cells(more, settings, [0, 1], ["ract", "aum"]) == 1  # only RACT's seed-0 cell existed
    assert set(run["methods"]) == {"small_loss", "data_map", "small_loss_final"}
    run_grid(more, settings, seeds, ["ract"], lambda _: _toy_data(texts, labels), CONFIG, backbone)
    assert run["methods"]["ract"]["finished_utc"] >= finished and "ract" in run["methods"]


@training
def test_a_method_that_refuses_the_data_is_recorded_and_the_rest_still_run(backbone, toy_texts) -> None:
    texts, _ = toy_texts
    labels = np.zeros(len(texts), dtype=np.int64)
    labels[0] = 1  # one example of class 1: 5-fold cross-validation is impossible
    settings = [Setting("toy", "symmetric", 0.0)]
    results = start_results(None, settings, ["cleanlab_cv", "small_loss"], [0], CONFIG)
    run_grid(
        results, settings, [0], ["cleanlab_cv", "small_loss"], lambda _: _toy_data(texts, labels), CONFIG, backbone
    )
    cells = results["settings"]["toy:symmetric:0"]["runs"]["0"]["methods"]
    assert "at least 2 examples" in cells["cleanlab_cv"]["error"]
    assert "error" not in cells["small_loss"] and cells["small_loss"]["auroc"] is None  # no noisy example
    assert "cleanlab_cv failed on seed 0" in render_markdown(results)


# --- The renderer on hand-made results ----------------------------------------------------------------------------


def _cell(f1: float, auprc: float, seconds: float) -> dict:
    return {
        "precision": f1, "recall": f1, "f1": f1, "f1_at_true_count": f1, "auroc": 0.9, "auprc": auprc,
        "num_flagged": 10, "wall_seconds": seconds, "adapter_passes": 8.0, "rule": "r", "shared_seconds": {},
        "extra": {},
    }  # fmt: skip


def _entry(dataset: str, kind: str, rate: float, runs: dict[int, dict[str, dict]]) -> dict:
    return {
        "dataset": dataset, "kind": kind, "rate": rate, "num_examples": 100, "num_classes": 4,
        "runs": {str(s): {"realised_noise_rate": rate, "num_noisy": 20, "methods": m} for s, m in runs.items()},
    }  # fmt: skip


HAND_MADE = {
    "grid": {"settings": ["ag_news:symmetric:0.2", "ag_news:asymmetric:0.4", "trec:symmetric:0.3"],
             "methods": ["ract", "cleanlab_cv", "aum"], "seeds": [0, 1]},
    "config": {"rows": 100, "detector": {"epochs": 4, "ranks": [4, 16], "precision": "auto"}},
    "settings": {
        # F1 +11 points: met; AUPRC +1 point: not met; time 0.1x and 0.2x: mean of the per-seed ratios 0.15x, met
        # (the ratio of the mean times, 45/250 = 0.18x, would mix the two machines)
        "ag_news:symmetric:0.2": _entry("ag_news", "symmetric", 0.2, {
            0: {"ract": _cell(0.80, 0.71, 10.0), "cleanlab_cv": _cell(0.70, 0.70, 100.0), "aum": _cell(0.5, 0.5, 9)},
            1: {"ract": _cell(0.82, 0.71, 80.0), "cleanlab_cv": _cell(0.70, 0.70, 400.0)},  # a slower machine
        }),
        # equal quality: "not below" holds; time 30/100: not met
        "ag_news:asymmetric:0.4": _entry("ag_news", "asymmetric", 0.4, {
            0: {"ract": _cell(0.6, 0.6, 30.0), "cleanlab_cv": _cell(0.6, 0.6, 100.0), "aum": {"error": "too small"}},
        }),
        "trec:symmetric:0.3": _entry("trec", "symmetric", 0.3, {0: {"ract": _cell(0.5, 0.5, 5.0)}}),
    },
}  # fmt: skip


def test_target_lines() -> None:
    settings = HAND_MADE["settings"]
    line = target_line("ag_news:symmetric:0.2", settings["ag_news:symmetric:0.2"])
    assert "over seeds 0, 1" in line
    assert "F1 +11.0 points (needs ≥ +2): met" in line
    assert "AUPRC +1.0 points (needs ≥ +2): **not met**" in line
    assert "wall time 0.15× cleanlab_cv's (needs ≤ 0.20×): met" in line
    assert line.endswith("Overall: **targets not met**.")
    line = target_line("ag_news:asymmetric:0.4", settings["ag_news:asymmetric:0.4"])
    assert "F1 +0.0 points (needs ≥ 0): met" in line and "wall time 0.30×" in line and "**not met**" in line
    assert "not run" in target_line("trec:symmetric:0.3", settings["trec:symmetric:0.3"])
    assert "not run" in target_line("sst2:symmetric:0.3", None)
    passing = {**settings["ag_news:asymmetric:0.4"]}
    passing["runs"] = {"0": {"methods": {"ract": _cell(0.7, 0.7, 10.0), "cleanlab_cv": _cell(0.6, 0.6, 100.0)}}}
    assert target_line("ag_news:asymmetric:0.4", passing).endswith("Overall: all targets met.")
    no_quality = target_line("trec:symmetric:0.3", passing)
    assert "no target for this setting" in no_quality and "all targets met" in no_quality


def test_render_markdown_tables_seeds_and_not_run() -> None:
    text = render_markdown(HAND_MADE, commands=["python -m benchmarks.peers"])
    assert "```bash\npython -m benchmarks.peers\n```" in text
    assert text.count("| Method | Seeds |") == 3
    assert "| ract | 2 of 2 | 81.0 ± 1.0 | 81.0 ± 1.0 | 81.0 ± 1.0 | 81.0 ± 1.0 | 90.0 ± 0.0 | 71.0 ± 0.0 |" in text
    assert "| aum | 1 of 2 | 50.0 |" in text  # one seed: no ± part
    assert "| cleanlab_cv | 0 of 2 | not run | not run |" in text  # trec: cleanlab_cv missing
    assert "aum failed on seed 0: too small" in text
    assert "Rows per data set: 100" in text


def test_peers_render_lists_every_default_setting_and_method(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    peers.main(["--render", "--out-dir", str(tmp_path), "--doc", str(doc)])  # no peers.json: everything not run
    text = doc.read_text()
    assert text.count("| Method | Seeds |") == 7 and "OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.peers" in text
    assert text.count("| coteaching | 0 of 3 | not run") == 7
    (tmp_path / "peers.json").write_text(json.dumps(HAND_MADE))
    peers.main(["--render", "--out-dir", str(tmp_path), "--doc", str(doc)])
    text = doc.read_text()
    assert "--settings ag_news:symmetric:0.2,ag_news:asymmetric:0.4,trec:symmetric:0.3" in text
    assert "--seeds 0,1" in text and "--rows 100" in text
    assert text.count("| Method | Seeds |") == 7  # the default settings are always shown
    assert "| ract | 2 of 2 |" in text


def test_peers_redo_needs_resume(tmp_path: Path) -> None:
    (tmp_path / "peers.json").write_text(json.dumps({}))
    with pytest.raises(SystemExit, match="--redo needs --resume"):
        peers.main(["--fresh", "--redo", "ract", "--out-dir", str(tmp_path), "--settings", "ag_news:symmetric:0.2"])


# --- ract bench ----------------------------------------------------------------------------------------------------


@training
def test_bench_cli_end_to_end_and_resume(tmp_path: Path, toy_texts) -> None:
    texts, labels = toy_texts
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": texts, "label": [["sport", "money"][i] for i in labels]}).to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["bench", str(path), "--inject-noise", "symmetric", "--noise-rate", "0.25", "--limit", "48",
            "--seeds", "0", "--output-dir", str(out), *FAST]  # fmt: skip
    assert main([*args, "--methods", "small_loss,ract"]) == 0
    results = json.loads((out / "bench.json").read_text())
    run = results["settings"]["toy.csv:symmetric:0.25"]["runs"]["0"]
    assert list(run["methods"]) == ["ract", "small_loss"] and run["num_noisy"] == 12
    assert results["config"]["rows"] == 48 and results["provenance"]["command"].startswith("ract bench ")
    report = (out / "bench.md").read_text()
    assert "| ract | 1 of 1 |" in report and "| small_loss | 1 of 1 |" in report
    assert "ract bench " in report and "--limit 48" in report

    finished = run["methods"]["ract"]["finished_utc"]
    assert main([*args, "--methods", "ract,small_loss,data_map", "--resume"]) == 0
    run = json.loads((out / "bench.json").read_text())["settings"]["toy.csv:symmetric:0.25"]["runs"]["0"]
    assert list(run["methods"]) == ["ract", "small_loss", "data_map"]
    assert run["methods"]["ract"]["finished_utc"] == finished


def test_bench_cli_rejects_an_unknown_method(tmp_path: Path, capsys) -> None:
    code = main(["bench", "missing.csv", "--inject-noise", "symmetric", "--methods", "ract,magic",
                 "--output-dir", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown method(s) 'magic'" in err and "valid methods: ract, small_loss" in err and "coteaching" in err
    assert not (tmp_path / "o").exists()


def test_main_table_resume_keeps_runs_of_the_same_config_only() -> None:
    from benchmarks.main_table import finished_runs

    detector = {"ranks": [4, 16], "epochs": 4}
    saved = {
        "config": {"rows": None, "epochs": 4, "detector": detector},
        "settings": {"ag_news:symmetric:0.3": {"runs": [{"seed": 0, "methods": {"lora_r4": {}}}]}},
        "provenance": {"commit": "abc"},
    }
    same = {"rows": None, "epochs": 4, "detector": {"ranks": (4, 16), "epochs": 4}}  # tuples as the dataclass has
    runs = finished_runs(saved, same)
    assert runs == {"ag_news:symmetric:0.3": [{"commit": "abc", "seed": 0, "methods": {"lora_r4": {}}}]}
    assert finished_runs(None, same) == {}
    with pytest.raises(SystemExit, match="other rows, epochs or detector"):
        finished_runs(saved, {**same, "epochs": 2})


def test_main_table_redo_drops_the_named_settings_and_seeds_only() -> None:
    from benchmarks.main_table import without_runs

    done = {"a:symmetric:0.3": [{"seed": 0}, {"seed": 1}], "a:asymmetric:0.4": [{"seed": 0}, {"seed": 1}]}
    kept = without_runs(done, {"a:asymmetric:0.4"}, [0])
    assert kept == {"a:symmetric:0.3": [{"seed": 0}, {"seed": 1}], "a:asymmetric:0.4": [{"seed": 1}]}
