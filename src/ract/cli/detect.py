"""``ract detect``: load data, optionally inject noise, run RACT, write scores.csv and summary.json."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ract.data import LabelledData, load_data
from ract.data.loading import source_file
from ract.detection.baselines import BASELINES, BaselineDetector
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT, DetectConfig
from ract.detection.scores import DEFAULT_SCORE, SCORES
from ract.errors import RactError
from ract.models.backbone import Backbone, load_backbone
from ract.noise import NOISE_KINDS, inject_noise
from ract.reporting.outputs import (
    DYNAMICS_FILE,
    SCORES_FILE,
    SUMMARY_FILE,
    library_versions,
    machine_info,
    memory_status_mb,
    peak_rss_mb,
    write_dynamics,
    write_json,
    write_scores_csv,
)
from ract.training.features import sentence_embeddings


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
    parser.add_argument("--model", default=defaults.model, help="'minilm' (bundled), a hub id or a local folder")
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
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--memmap-dir", help="keep cached hidden states in a memory-mapped file in this folder")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("detect", help="find mislabelled examples with RACT")
    add_detection_arguments(parser)
    parser.add_argument(
        "--method",
        default="ract",
        choices=["ract", *BASELINES],
        help="ract (default) or a peer method run on the same backbone (see docs/benchmarks.md)",
    )
    parser.set_defaults(run=run)


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
        seed=args.seed,
        memmap_dir=args.memmap_dir,
        **extra,
    )
    config.validate()
    return config


def load_from_args(args: argparse.Namespace, say) -> LabelledData:
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


@dataclass
class DetectionRun:
    """Everything a detection run produced, for commands that build on it (``ract train``)."""

    data: LabelledData
    labels: np.ndarray
    clean: np.ndarray | None
    detector: RACT
    summary: dict
    out_dir: Path


def add_detection_arguments(parser: argparse.ArgumentParser) -> None:
    """Data, noise-injection, model, score and output options of ``detect`` (and ``train``)."""
    add_data_arguments(parser)
    parser.add_argument("--inject-noise", choices=NOISE_KINDS, help="corrupt the labels first (benchmarking)")
    parser.add_argument("--noise-rate", type=float, default=0.3, help="fraction of labels to corrupt")
    parser.add_argument("--noise-seed", type=int, default=0)
    add_model_arguments(parser)
    parser.add_argument("--score", default=DEFAULT_SCORE, choices=sorted(SCORES), help="noise score (ract)")
    parser.add_argument("--threshold", default="auto", help="'auto' (mixture model), 'rate:R', or a score value")
    parser.add_argument("--output-dir", required=True, help="folder for scores.csv and summary.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--report", action="store_true", help="also write report.html (see `ract report`)")


def run(args: argparse.Namespace, say) -> int:
    detect_and_write(args, say, "detect")
    return 0


def inject_from_args(
    args: argparse.Namespace, data: LabelledData, config: DetectConfig, say
) -> tuple[np.ndarray, np.ndarray | None, dict | None, Backbone | None]:
    """Apply ``--inject-noise`` if asked: (labels to train on, ground truth or None, noise record, backbone).

    With injected noise the file's labels become the ground truth. Instance-dependent noise needs sentence
    embeddings, so the backbone is loaded here and handed on to the detector (loaded once).
    """
    if not args.inject_noise:
        return data.labels, data.clean_labels, None, None
    backbone, features = None, None
    if args.inject_noise == "instance":
        backbone = load_backbone(config.model)
        features = sentence_embeddings(backbone, data.texts, config.max_length)
    result = inject_noise(
        data.labels, data.num_classes, args.inject_noise, args.noise_rate, args.noise_seed, features=features
    )
    noise_info = {
        "kind": result.kind,
        "requested_rate": result.requested_rate,
        "realised_rate": result.realised_rate,
        "num_flipped": int(result.flip_mask.sum()),
        "seed": args.noise_seed,
    }
    say(f"injected {args.inject_noise} noise: {noise_info['num_flipped']} labels flipped "
        f"(realised rate {result.realised_rate:.4f})")  # fmt: skip
    return result.noisy_labels, data.labels, noise_info, backbone


def _absolute(path: Path | None) -> str | None:
    """The absolute path as text (recorded in summary.json so later commands find the data), or None."""
    return str(path.resolve()) if path is not None else None


def detect_and_write(args: argparse.Namespace, say, command: str) -> DetectionRun:
    """Load, optionally inject noise, run RACT, write scores.csv, dynamics.npz and summary.json."""
    started = time.perf_counter()
    config = config_from_args(args, score=args.score, threshold=args.threshold)
    out_dir = Path(args.output_dir)
    data = load_from_args(args, say)
    method = getattr(args, "method", "ract")
    if method == "ract":
        detector = RACT(config, show_progress=not args.quiet)
    else:
        detector = BaselineDetector(method, config, show_progress=not args.quiet)
    labels, clean, noise_info, backbone = inject_from_args(args, data, config, say)
    detector.fit(data.texts, labels, data.num_classes, backbone=backbone)
    table = detector.label_issues_table(labels)
    names = np.asarray(data.label_names, dtype=object)
    table.insert(0, "index", data.row_ids)
    table.insert(1, "text", data.texts)
    table["given_label"] = names[labels]
    table["predicted_label"] = names[detector.suggested_labels_]
    metrics = None
    if clean is not None:
        is_noisy = clean != labels
        table["true_label"] = names[clean]
        table["is_noisy"] = is_noisy
        metrics = detection_metrics(is_noisy, detector.noise_scores_, detector.label_issues_)

    write_scores_csv(out_dir / SCORES_FILE, table)
    if detector.dynamics_ is not None:
        write_dynamics(out_dir / DYNAMICS_FILE, detector.dynamics_.logits, labels, list(config.ranks))
    n = len(labels)
    summary = {
        "command": command,
        "method": method,
        "data": {
            "source": data.source,
            "path": _absolute(source_file(args.data, args.split, args.data_dir)),
            "text_column": args.text_column,
            "label_column": args.label_column,
            "split": args.split,
            "num_examples": n,
            "num_classes": data.num_classes,
            "label_names": data.label_names,
            "notes": data.notes,
            "ground_truth_known": clean is not None,
        },
        "noise_injection": noise_info,
        "config": {**vars(config), "precision_resolved": detector.precision_},
        "versions": library_versions(),
        "machine": machine_info(),
        "timings_seconds": {**detector.timings_, "total": time.perf_counter() - started},
        "examples_per_second": n * config.epochs / max(detector.timings_["train"], 1e-9),
        "peak_rss_mb": peak_rss_mb(),
        "memory_at_end_mb": memory_status_mb(),
        "counts": {
            "num_flagged": int(detector.label_issues_.sum()),
            "num_changed_suggestion": int((detector.suggested_labels_ != labels).sum()),
        },
        "threshold": {
            "rule": detector.threshold_.rule,
            "value": detector.threshold_.threshold,
            "estimated_noise_rate": detector.estimated_noise_rate_,
            "warning": detector.threshold_.warning,
        },
        "estimated_noise_rate": detector.estimated_noise_rate_,
        "metrics": metrics,
        "files": {"scores": SCORES_FILE, "dynamics": DYNAMICS_FILE if detector.dynamics_ is not None else None},
    }
    write_json(out_dir / SUMMARY_FILE, summary)
    say(
        f"flagged {summary['counts']['num_flagged']} of {n} examples "
        f"(estimated noise rate {detector.estimated_noise_rate_:.3f}) in {summary['timings_seconds']['total']:.0f}s"
    )
    if metrics:
        say(
            f"vs ground truth: precision {metrics['precision']:.3f} recall {metrics['recall']:.3f} "
            f"F1 {metrics['f1']:.3f} AUROC {metrics['auroc']:.3f} AUPRC {metrics['auprc']:.3f}"
        )
    say(f"wrote {out_dir / SCORES_FILE} and {out_dir / SUMMARY_FILE}")
    if detector.threshold_.warning:
        say(f"warning: {detector.threshold_.warning}")
    if args.report:
        from ract.reporting.html_report import build_report

        say(f"wrote {build_report(out_dir)}")
    return DetectionRun(data, labels, clean, detector, summary, out_dir)
