"""``ract detect``: load data, optionally inject noise, run RACT, write scores.csv and summary.json."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ract.cli.arguments import add_detection_arguments, config_from_args, load_from_args
from ract.detection import METHODS
from ract.noise import inject_noise

if TYPE_CHECKING:
    from ract.data import LabelledData
    from ract.detection.config import DetectConfig
    from ract.detection.pipeline import RACT
    from ract.models.backbone import Backbone


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("detect", help="find mislabelled examples with RACT")
    add_detection_arguments(parser)
    parser.add_argument(
        "--method",
        default="ract",
        choices=METHODS,
        help="ract (default) or a peer method run on the same backbone (see docs/benchmarks.md)",
    )
    parser.set_defaults(run=run)


@dataclass
class DetectionRun:
    """Everything a detection run produced, for commands that build on it (``ract train``)."""

    data: LabelledData
    labels: np.ndarray
    clean: np.ndarray | None
    detector: RACT
    summary: dict
    out_dir: Path


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
    from ract.models.backbone import load_backbone
    from ract.training.features import sentence_embeddings

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


def transition_table(transition: np.ndarray | None, names: list[str]) -> dict | None:
    """``{predicted class: {label: mean probability}}`` from a (C, C) learned transition (RACT only, else None):
    how much of each class the adapter believes carries each label; None for a class no row is predicted as."""
    if transition is None:
        return None
    return {
        str(names[k]): None if np.isnan(row).any() else {str(names[j]): round(float(p), 4) for j, p in enumerate(row)}
        for k, row in enumerate(transition)
    }


def detect_and_write(args: argparse.Namespace, say, command: str) -> DetectionRun:
    """Load, optionally inject noise, run RACT, write scores.csv, dynamics.npz and summary.json."""
    from ract.data.loading import source_file
    from ract.detection.baselines import BaselineDetector
    from ract.detection.metrics import detection_metrics
    from ract.detection.pipeline import RACT
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
        "learned_transition": transition_table(getattr(detector, "learned_transition_", None), data.label_names),
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
