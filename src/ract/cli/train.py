"""``ract train`` (detection + curriculum retraining + saved model) and ``ract predict``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ract.cli.arguments import add_detection_arguments
from ract.cli.detect import detect_and_write
from ract.errors import RactError
from ract.training import CURRICULA

if TYPE_CHECKING:
    from ract.data import LabelledData

MODEL_DIR = "model"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="detect label noise, retrain on the trusted examples, save the model")
    add_detection_arguments(parser)
    parser.add_argument("--curriculum", choices=CURRICULA, default="remove", help="what to do with flagged rows")
    parser.add_argument("--relabel-confidence", type=float, default=0.9, help="min. probability to relabel a flag")
    parser.add_argument("--test", help="clean labelled data to evaluate on (a preset uses its test split)")
    parser.set_defaults(run=run_train)

    parser = subparsers.add_parser("predict", help="predict labels with a model saved by `ract train`")
    parser.add_argument("data", help="a .csv/.tsv/.jsonl/.parquet file")
    parser.add_argument("--model-dir", required=True, help="the model folder written by `ract train`")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--output", required=True, help="where to write predictions (format from the extension)")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run_predict)


def align_labels(test: LabelledData, label_names: list[str]) -> LabelledData:
    """Map the test set's label ids into the training label ids, by label name."""
    index = {name: i for i, name in enumerate(label_names)}
    unknown = sorted(set(test.label_names) - set(index))
    if unknown:
        raise RactError(f"--test {test.source}: labels {unknown[:5]} do not occur in the training data")
    test.labels = np.asarray([index[test.label_names[i]] for i in test.labels], dtype=np.int64)
    test.label_names = list(label_names)
    return test


def run_train(args: argparse.Namespace, say) -> int:
    from ract.data import load_data
    from ract.models.persistence import save_classifier, write_model_card
    from ract.reporting.outputs import SUMMARY_FILE, write_json
    from ract.training.features import tokenize
    from ract.training.loop import predict_logits
    from ract.training.robust import retrain

    test = None
    if args.test:  # fail fast on a bad test set, before any training
        test = load_data(args.test, text_column=args.text_column, label_column=args.label_column, split="test",
                         data_dir=args.data_dir)  # fmt: skip
    run = detect_and_write(args, say, "train")
    if test is not None:
        test = align_labels(test, run.data.label_names)
    detector = run.detector
    start = time.perf_counter()
    result = retrain(detector, run.labels, args.curriculum, args.relabel_confidence, show_progress=not args.quiet)
    seconds = time.perf_counter() - start
    say(
        f"retrained rank-{detector.config.ranks[0]} adapter on {len(result.kept)} examples "
        f"({int(result.removed.sum())} removed, {int(result.relabelled.sum())} relabelled) in {seconds:.0f}s"
    )
    figures: dict = {
        "curriculum": args.curriculum,
        "num_trained_on": len(result.kept),
        "num_removed": int(result.removed.sum()),
        "num_relabelled": int(result.relabelled.sum()),
        "retrain_seconds": seconds,
    }
    if test is not None:
        tokens = tokenize(test.texts, detector.backbone_.tokenizer, detector.config.max_length)
        logits = predict_logits(result.model, tokens, None, detector.precision_)
        figures["test_accuracy"] = float((logits.argmax(1) == test.labels).mean())
        figures["test_examples"] = len(test.labels)
        say(f"test accuracy {figures['test_accuracy']:.4f} on {len(test.labels)} examples of {test.source}")
    model_dir = run.out_dir / MODEL_DIR
    meta = {
        "label_names": run.data.label_names,
        "max_length": detector.config.max_length,
        "training_data": f"{run.data.source} ({len(run.labels)} rows, curriculum {args.curriculum})",
        "detect_config": vars(detector.config),
    }
    info = save_classifier(result.model, model_dir, detector.backbone_, meta)
    card = dict(figures)
    if run.summary["metrics"]:
        card.update({f"detection_{k}": run.summary["metrics"][k] for k in ("precision", "recall", "f1", "auroc")})
    write_model_card(model_dir, info, card)
    run.summary["training"] = figures
    run.summary["files"]["model"] = MODEL_DIR
    write_json(run.out_dir / SUMMARY_FILE, run.summary)
    say(f"saved the model to {model_dir}")
    return 0


def run_predict(args: argparse.Namespace, say) -> int:
    import pandas as pd

    from ract.data import read_table, write_table
    from ract.models.persistence import load_classifier
    from ract.training.features import tokenize
    from ract.training.loop import predict_logits, softmax

    model, backbone, meta = load_classifier(args.model_dir)
    frame = read_table(args.data)
    if args.text_column not in frame.columns:
        raise RactError(f"{args.data}: no column {args.text_column!r}; columns are {list(frame.columns)}")
    texts = frame[args.text_column]
    empty = np.flatnonzero(texts.isna().to_numpy() | (texts.astype(str).str.strip() == "").to_numpy())
    if len(empty):
        raise RactError(f"{args.data}: {len(empty)} empty texts, at rows {empty[:10].tolist()} (0-based data rows)")
    tokens = tokenize(texts.astype(str).tolist(), backbone.tokenizer, int(meta["max_length"]))
    probs = softmax(predict_logits(model, tokens, None))
    names = np.asarray(meta["label_names"], dtype=object)
    out = frame.copy()
    out["predicted_label"] = names[probs.argmax(1)]
    out["confidence"] = probs.max(1)
    for j, name in enumerate(names):
        out[f"prob_{name}"] = probs[:, j]
    write_table(pd.DataFrame(out), Path(args.output))
    say(f"wrote {len(out)} predictions to {args.output}")
    return 0
