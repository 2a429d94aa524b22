"""``ract rank``: a tiny probe run end to end, the exact formula when eta and alpha are given, and bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ract.cli.main import main
from ract.theory import DEFAULT_RANK_CHOICES, optimal_rank, recommend_rank

FAST = ["--probe-epochs", "1", "--adapted-layers", "1", "--quiet"]


@pytest.fixture
def toy_csv(tmp_path: Path, toy_texts) -> str:
    texts, labels = toy_texts
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return str(path)


def run_json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["rank", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_rank_probe_estimates_eta_and_alpha(toy_csv: str, capsys) -> None:
    out = run_json(capsys, toy_csv, "--probe-rows", "32", *FAST)
    expected = {"n", "d", "noise_rate", "alpha", "c", "optimal_rank", "recommended_rank", "capacity", "probe",
                "model", "data", "timings_seconds", "notes"}  # fmt: skip
    assert expected <= set(out)
    assert out["n"] == 64, "n is the full data set, not the probe's subsample"
    assert out["d"] == 384
    assert out["probe"]["rows"] == 32 and out["probe"]["ranks"] == [4, 16] and out["probe"]["epochs"] == 1
    assert out["probe"]["timings_seconds"]["train"] > 0
    assert out["noise_rate"]["source"] == "probe"
    assert out["noise_rate"]["value"] == out["probe"]["estimated_noise_rate"]
    assert out["alpha"]["source"] == "probe" and out["alpha"]["value"] > 0
    assert 0.0 <= out["alpha"]["r_squared"] <= 1.0
    assert out["model"]["adapted_layers"] == [5]
    eta, alpha = out["noise_rate"]["value"], out["alpha"]["value"]
    assert out["optimal_rank"] == pytest.approx(optimal_rank(64, 384, eta, alpha))
    assert out["recommended_rank"] == recommend_rank(64, 384, eta, alpha)


def test_rank_json_with_given_noise_rate(toy_csv: str, capsys) -> None:
    out = run_json(capsys, toy_csv, "--probe-rows", "64", "--noise-rate", "0.25", *FAST)
    assert out["noise_rate"]["value"] == 0.25
    assert out["noise_rate"]["source"] == "--noise-rate"
    assert out["noise_rate"]["probe_estimate"] is not None, "the probe still ran, for alpha"
    assert out["alpha"]["source"] == "probe"
    assert out["optimal_rank"] > 0
    assert out["recommended_rank"] in DEFAULT_RANK_CHOICES
    assert out["c"] == {"value": 1.0, "source": "default", "note": out["c"]["note"]}
    assert "calibrate_c" in out["c"]["note"]
    capacity = out["capacity"]
    assert [row["rank"] for row in capacity] == list(DEFAULT_RANK_CHOICES)
    totals = [row["memorization_n"] for row in capacity]
    assert all(a < b for a, b in zip(totals, totals[1:], strict=False))
    # MiniLM, top layer, query + value (384 x 384 each): 2 r (768 - r) LoRA dof + 384 * 2 + 2 head parameters.
    assert capacity[0]["lora_dof"] == 2 * 767 and capacity[0]["head_params"] == 770
    assert all(row["n_exceeds_capacity"] == (row["memorization_n"] < 64) for row in capacity)


def test_rank_given_eta_and_alpha_is_the_formula(toy_csv: str, capsys) -> None:
    out = run_json(capsys, toy_csv, "--alpha", "1.0", "--noise-rate", "0.2", *FAST)
    assert out["optimal_rank"] == optimal_rank(64, 384, 0.2, 1.0)
    assert out["recommended_rank"] == recommend_rank(64, 384, 0.2, 1.0)
    assert out["alpha"] == {"value": 1.0, "source": "--alpha", "r_squared": None, "fitted_on_rank": None}
    assert out["probe"] is None, "nothing left to estimate: no probe"

    out = run_json(capsys, toy_csv, "--alpha", "1.0", "--noise-rate", "0.2", "--c", "2.5", *FAST)
    assert out["optimal_rank"] == pytest.approx(2.5 * optimal_rank(64, 384, 0.2, 1.0))
    assert out["c"]["source"] == "--c"


def test_rank_table_output(toy_csv: str, capsys) -> None:
    capsys.readouterr()
    assert main(["rank", toy_csv, "--alpha", "0.5", "--noise-rate", "0.1", *FAST]) == 0
    captured = capsys.readouterr()
    assert "loaded" not in captured.err, "--quiet silences ract's own messages"
    text = captured.out
    r_star = optimal_rank(64, 384, 0.1, 0.5)
    assert f"r* = {r_star:.3f}" in text
    assert f"recommended rank: {recommend_rank(64, 384, 0.1, 0.5)}" in text
    assert "given by --noise-rate" in text and "calibrate_c" in text
    for r in DEFAULT_RANK_CHOICES:
        assert any(line.split()[:1] == [str(r)] for line in text.splitlines())


@pytest.mark.parametrize(
    ("option", "value"),
    [("--noise-rate", "1.0"), ("--noise-rate", "-0.1"), ("--probe-rows", "9"), ("--alpha", "0"),
     ("--alpha", "-1"), ("--c", "0"), ("--probe-epochs", "0"), ("--probe-rank", "4")],
)  # fmt: skip
def test_rank_bad_options_exit_2(toy_csv: str, capsys, option: str, value: str) -> None:
    capsys.readouterr()
    assert main(["rank", toy_csv, option, value, "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"ract rank: error: {option}" in captured.err


def test_rank_refuses_detect_ranks(toy_csv: str, capsys) -> None:
    assert main(["rank", toy_csv, "--ranks", "2,8", "--quiet"]) == 2
    assert "--probe-rank" in capsys.readouterr().err
