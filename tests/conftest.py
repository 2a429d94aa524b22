"""Shared fixtures: the bundled MiniLM backbone (loaded once) and a small labelled text set."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

training = pytest.mark.skipif(
    os.environ.get("RACT_SKIP_TRAINING_TESTS") == "1", reason="model-training test (RACT_SKIP_TRAINING_TESTS=1)"
)

warnings.filterwarnings("ignore", category=FutureWarning)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RACT_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def backbone():
    from ract.models.backbone import load_backbone

    return load_backbone()


@pytest.fixture(scope="session")
def toy_texts() -> tuple[list[str], np.ndarray]:
    """64 short texts in two easily separable classes (sports vs. finance), labels 0/1."""
    sport = ["the team won the match", "a late goal decided the game", "the striker scored twice", "fans cheered"]
    money = ["shares fell on the market", "the bank raised interest rates", "profits beat forecasts", "stocks rallied"]
    texts, labels = [], []
    for i in range(32):
        texts += [f"{sport[i % 4]} {i}", f"{money[i % 4]} {i}"]
        labels += [0, 1]
    return texts, np.asarray(labels, dtype=np.int64)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: on a small shared CPU, two threads fighting other jobs are ~10x slower on the toy set."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
