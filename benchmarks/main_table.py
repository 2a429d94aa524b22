"""The paper's main table: RACT detection + curriculum retraining against plain LoRA and a clean-label ceiling.

For every setting ``dataset:kind:rate`` and every seed: load the train split (``--rows`` seeded rows, all when
omitted; the row sample is the same for every seed) and the whole test split (labels aligned by name), inject
``kind`` noise at ``rate`` with noise seed = seed (rate 0 flips nothing; instance noise is driven by the frozen
backbone's sentence embeddings), then train and evaluate, all on the same backbone (loaded once) and the same
``DetectConfig`` defaults (``--epochs`` overrides the epochs):

* ``ract_remove``: ``RACT(seed=seed).fit`` on the noisy labels, then ``retrain(detector, noisy, "remove")``;
  test accuracy of the retrained rank-4 adapter. The detection figures (precision, recall, F1 of the flags,
  F1 at the true noisy count, AUROC, AUPRC, estimated noise rate) are those of this detector.
  Time: detection + retraining.
* ``ract_relabel``: the same fitted detector, ``retrain(..., "relabel")``. Time: detection + retraining.
* ``ract_easy_first``: the same detector, ``retrain(..., "easy_first")``: flagged rows removed, the rest paced
  from the lowest noise score up (half in the first epoch, all in the last). Time: detection + retraining.
* ``lora_r4`` / ``lora_r16``: plain LoRA on the noisy labels. After ``fit``, ``detector.adapters_[0]`` and
  ``detector.adapters_[-1]`` are exactly plain rank-4 and rank-16 LoRA classifiers trained on the noisy labels
  (all examples, no curriculum) for the same epochs, so they are evaluated as they are, with no extra training.
  Time: the detector's fit, which trains both adapters side by side (so it is shared, not per adapter).
* ``clean_ceiling``: ``RACT(ranks=(4,), seed=seed).fit`` on the CLEAN labels; test accuracy of its rank-4
  adapter, the ceiling the curriculum aims at. Time: that fit.
* ``full_finetune`` (only with ``--full-finetune [SETTINGS]``: every setting, or the listed ones): every encoder
  weight trainable plus a linear head on the mean-pooled tokens, trained on the noisy labels with the same loop,
  batch size, schedule and epochs but AdamW lr 2e-5 (1e-3, the LoRA default, diverges when every weight is
  trained). The settings it did not run on are listed under ``not_run`` in the JSON.

Diagnostic ``detection.second_round``: the ``ract_remove`` adapter's loss on every training example (the
flagged ones were left out of its training) scored as a noise score (AUROC, AUPRC, F1 at the true count); it
tells whether a second detection round after the curriculum would find more of the noise.

Test accuracy is the argmax of ``predict_logits`` (eval mode, all layers) against the test labels. Wall seconds
exclude the test-set evaluation and the model load. Results are written to benchmarks/results/main_table.json
after every seed, so a stopped run keeps what finished; a new run overwrites the file unless ``--resume``, which
keeps the finished runs (setting, seed, every requested method) of the saved file when its rows, epochs and
detector settings are those asked for (``--redo`` names settings to run again all the same); each run records the
commit, precision and CPU it ran on. ``python -m
benchmarks.render_results`` turns it into the markdown table in docs/results.md.

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.main_table                 # the whole table, seeds 0,1,2
    .venv/bin/python -m benchmarks.main_table --settings ag_news:symmetric:0.3 --seeds 0 --rows 2000
    .venv/bin/python -m benchmarks.main_table --full-finetune                   # adds full fine-tuning
    .venv/bin/python -m benchmarks.main_table --full-finetune ag_news:symmetric:0.3   # ... on one setting
    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.main_table --resume        # continue a stopped run
    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.main_table --resume --seeds 0 --redo ag_news:asymmetric:0.4
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from benchmarks.common import RESULTS, provenance, save_result
from ract.cli.train import align_labels
from ract.data import load_data
from ract.detection.bench import Setting, load_train_sample, parse_settings
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT, DetectConfig, resolve_precision
from ract.models.backbone import Backbone, load_backbone
from ract.models.classifier import mean_pool
from ract.noise import inject_noise
from ract.reporting.bench_report import mean_std
from ract.reporting.outputs import peak_rss_mb
from ract.training.features import TokenizedTexts, sentence_embeddings, tokenize
from ract.training.loop import TrainConfig, per_example_loss, predict_logits, train_adapters
from ract.training.robust import retrain

DEFAULT_SETTINGS = (
    "ag_news:symmetric:0,ag_news:symmetric:0.1,ag_news:symmetric:0.2,ag_news:symmetric:0.3,ag_news:symmetric:0.4,"
    "ag_news:asymmetric:0.2,ag_news:asymmetric:0.4,ag_news:instance:0.2,ag_news:instance:0.4,"
    "trec:symmetric:0.3,sst2:symmetric:0.3"
)
METHODS = ("ract_remove", "ract_relabel", "ract_easy_first", "lora_r4", "lora_r16", "clean_ceiling", "full_finetune")
DETECTION_KEYS = ("precision", "recall", "f1", "f1_at_true_count", "auroc", "auprc", "estimated_noise_rate")
FULL_FINETUNE_LR = 2e-5


@dataclass
class DataSet:
    """One data set's train sample and test split, tokenized test texts and (lazily) train embeddings."""

    texts: list[str]
    clean: np.ndarray
    label_names: list[str]
    test_texts: list[str]
    test_labels: np.ndarray
    test_tokens: TokenizedTexts
    embeddings: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


class FullFineTune(nn.Module):
    """A full copy of the encoder with every weight trainable, mean pooling and a linear head."""

    def __init__(self, backbone: Backbone, num_classes: int, seed: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.encoder = copy.deepcopy(backbone.model)
        for param in self.encoder.parameters():
            param.requires_grad_(True)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.head = nn.Linear(backbone.hidden_size, num_classes)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, start_states: None = None) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(hidden, attention_mask))


def load_dataset(name: str, rows: int | None, backbone: Backbone, max_length: int) -> DataSet:
    """The train sample (seed 0) and the whole test split, its labels mapped to the train label ids by name."""
    train = load_train_sample(name, rows)
    test = align_labels(load_data(name, split="test"), train.label_names)
    return DataSet(
        texts=train.texts,
        clean=train.labels,
        label_names=train.label_names,
        test_texts=test.texts,
        test_labels=test.labels,
        test_tokens=tokenize(test.texts, backbone.tokenizer, max_length),
    )


def accuracy_on_test(model: nn.Module, data: DataSet, precision: str) -> float:
    logits = predict_logits(model, data.test_tokens, None, precision)
    return float((logits.argmax(1) == data.test_labels).mean())


def run_seed(setting: Setting, seed: int, data: DataSet, backbone: Backbone, epochs: int, full_finetune: bool) -> dict:
    """Every method on one noisy draw; returns the per-run record."""
    noise = inject_noise(data.clean, data.num_classes, setting.kind, setting.rate, seed, features=data.embeddings)
    noisy, is_noisy = noise.noisy_labels, noise.flip_mask
    methods: dict[str, dict] = {}

    start = time.perf_counter()
    detector = RACT(seed=seed, epochs=epochs).fit(data.texts, noisy, data.num_classes, backbone=backbone)
    detect_seconds = time.perf_counter() - start
    precision = detector.precision_
    metrics = detection_metrics(is_noisy, detector.noise_scores_, detector.label_issues_)
    detection = {k: metrics[k] for k in (*DETECTION_KEYS[:-1], "num_flagged", "num_noisy")}
    detection["estimated_noise_rate"] = detector.estimated_noise_rate_

    for curriculum in ("remove", "relabel", "easy_first"):
        start = time.perf_counter()
        result = retrain(detector, noisy, curriculum)
        seconds = time.perf_counter() - start
        if curriculum == "remove":
            # diagnostic: the retrained adapter's loss on every training example as a second-round noise score
            logits = predict_logits(result.model, detector.tokens_, detector.start_states_, precision)
            second = detection_metrics(is_noisy, per_example_loss(logits, noisy))
            detection["second_round"] = {k: second[k] for k in ("auroc", "auprc", "f1_at_true_count")}
        methods[f"ract_{curriculum}"] = {
            "test_accuracy": accuracy_on_test(result.model, data, precision),
            "wall_seconds": detect_seconds + seconds,
            "retrain_seconds": seconds,
            "num_trained_on": len(result.kept),
            "num_removed": int(result.removed.sum()),
            "num_relabelled": int(result.relabelled.sum()),
        }
    for name, adapter in (("lora_r4", detector.adapters_[0]), ("lora_r16", detector.adapters_[-1])):
        methods[name] = {
            "rank": adapter.rank,
            "test_accuracy": accuracy_on_test(adapter, data, precision),
            "wall_seconds": detect_seconds,
        }
    del detector, result

    start = time.perf_counter()
    ceiling = RACT(ranks=(4,), seed=seed, epochs=epochs).fit(
        data.texts, data.clean, data.num_classes, backbone=backbone
    )
    seconds = time.perf_counter() - start  # before the test-set evaluation, which is not timed
    methods["clean_ceiling"] = {
        "test_accuracy": accuracy_on_test(ceiling.adapters_[0], data, precision),
        "wall_seconds": seconds,
    }
    del ceiling

    if full_finetune:
        start = time.perf_counter()
        model = FullFineTune(backbone, data.num_classes, seed)
        cfg = DetectConfig(epochs=epochs)
        config = TrainConfig(
            epochs=epochs, batch_size=cfg.batch_size, lr=FULL_FINETUNE_LR, precision=precision, seed=seed
        )
        train_adapters([model], tokenize(data.texts, backbone.tokenizer, cfg.max_length), noisy, config, None, False)
        seconds = time.perf_counter() - start
        methods["full_finetune"] = {
            "test_accuracy": accuracy_on_test(model, data, precision),
            "wall_seconds": seconds,
            "lr": FULL_FINETUNE_LR,
        }
        del model

    made = provenance()
    return {
        "seed": seed,
        "commit": made["commit"],
        "precision": precision,
        "cpu": made["machine"]["cpu"],
        "train_rows": len(noisy),
        "realised_noise_rate": noise.realised_rate,
        "detection": detection,
        "methods": methods,
    }


def summarise(runs: list[dict]) -> dict:
    methods = {m for r in runs for m in r["methods"]}
    return {
        "detection": {k: mean_std([r["detection"][k] for r in runs]) for k in DETECTION_KEYS},
        "second_round": {
            k: mean_std([r["detection"].get("second_round", {}).get(k) for r in runs])
            for k in ("auroc", "auprc", "f1_at_true_count")
        },
        "realised_noise_rate": mean_std([r["realised_noise_rate"] for r in runs]),
        **{
            m: {k: mean_std([r["methods"][m][k] for r in runs]) for k in ("test_accuracy", "wall_seconds")}
            for m in METHODS
            if m in methods
        },
    }


def finished_runs(previous: dict | None, config: dict) -> dict[str, list[dict]]:
    """The runs of a saved main_table.json (None: no runs) per setting key; SystemExit if it was made with another
    ``config`` (rows, epochs, detector). Runs saved before runs recorded their commit get the file's commit."""
    if previous is None:
        return {}
    old = previous.get("config", {})
    new = json.loads(json.dumps(config, default=str))  # as saved: tuples become lists
    if any(old.get(k) != new[k] for k in ("rows", "epochs", "detector")):
        raise SystemExit(
            "--resume: the saved main_table.json was made with other rows, epochs or detector settings; "
            "run without --resume to start over"
        )
    commit = previous.get("provenance", {}).get("commit")
    return {
        key: [{"commit": commit, **run} for run in entry.get("runs", [])]
        for key, entry in previous.get("settings", {}).items()
    }


def without_runs(done: dict[str, list[dict]], keys: set[str], seeds: list[int]) -> dict[str, list[dict]]:
    """``done`` (from :func:`finished_runs`) without the runs of settings ``keys`` and ``seeds`` (``--redo``)."""
    return {key: [r for r in runs if key not in keys or r["seed"] not in seeds] for key, runs in done.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help="comma-separated dataset:kind:rate")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", type=int, default=None, help="train rows per data set (default: all)")
    parser.add_argument("--epochs", type=int, default=DetectConfig().epochs)
    parser.add_argument(
        "--full-finetune",
        nargs="?",
        const="all",
        default="",
        help="also fully fine-tune the encoder (slow): on every setting, or on the comma-separated ones given",
    )
    parser.add_argument("--resume", action="store_true", help="keep the finished runs of main_table.json")
    parser.add_argument(
        "--redo",
        default="",
        help="with --resume: comma-separated settings (dataset:kind:rate) whose saved runs of --seeds are run again, "
        "e.g. after a change to the detector",
    )
    args = parser.parse_args()

    settings = parse_settings(args.settings)
    keys = {s.key for s in settings}
    if args.full_finetune == "all":
        finetune = keys
    else:
        finetune = {s.key for s in parse_settings(args.full_finetune)} if args.full_finetune else set()
    if finetune - keys:
        parser.error(f"--full-finetune {sorted(finetune - keys)}: not among --settings")
    seeds = [int(s) for s in args.seeds.split(",")]
    config = DetectConfig(epochs=args.epochs)
    backbone = load_backbone(config.model)
    precision = resolve_precision(config.precision)
    run_config = {**vars(args), "detector": asdict(config), "precision": precision}
    path = RESULTS / "main_table.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if args.resume and path.exists() else None
    done = finished_runs(previous, run_config)
    if args.redo:
        if not args.resume:
            parser.error("--redo needs --resume (without it every run is made anyway)")
        redo = {s.key for s in parse_settings(args.redo)}
        if redo - keys:
            parser.error(f"--redo {sorted(redo - keys)}: not among --settings")
        done = without_runs(done, redo, seeds)
    payload: dict = {
        "config": run_config,
        "methods": [m for m in METHODS if finetune or m != "full_finetune"],
        "not_run": {
            "full_finetune": [f"{key}: expensive; run with --full-finetune {key}" for key in sorted(keys - finetune)]
        }
        if keys - finetune
        else {},
        "settings": {},
    }
    datasets: dict[str, DataSet] = {}
    for setting in settings:
        if setting.dataset not in datasets:
            datasets[setting.dataset] = load_dataset(setting.dataset, args.rows, backbone, config.max_length)
        data = datasets[setting.dataset]
        entry = payload["settings"][setting.key] = {
            **asdict(setting),
            "train_rows": len(data.texts),
            "test_rows": len(data.test_labels),
            "num_classes": data.num_classes,
            "runs": [],
        }
        wanted = {m for m in METHODS if m != "full_finetune" or setting.key in finetune}
        for seed in seeds:
            kept = [r for r in done.get(setting.key, []) if r["seed"] == seed and wanted <= set(r["methods"])]
            if kept:
                entry["runs"].append(kept[0])
                entry["summary"] = summarise(entry["runs"])
                print(f"{setting.key} seed {seed}: kept from {kept[0]['commit']}", flush=True)
                continue
            if setting.kind == "instance" and data.embeddings is None:  # only when a seed runs (not on --resume)
                data.embeddings = sentence_embeddings(backbone, data.texts, config.max_length, precision)
            run = run_seed(setting, seed, data, backbone, args.epochs, setting.key in finetune)
            entry["runs"].append(run)
            entry["summary"] = summarise(entry["runs"])
            accs = ", ".join(f"{m} {v['test_accuracy']:.4f}" for m, v in run["methods"].items())
            auroc = run["detection"]["auroc"]
            print(
                f"{setting.key} seed {seed}: detection F1 {run['detection']['f1']:.4f} "
                f"AUROC {float('nan') if auroc is None else auroc:.4f}; test accuracy {accs}",
                flush=True,
            )
            payload["peak_rss_mb"] = peak_rss_mb()
            with contextlib.redirect_stdout(io.StringIO()):  # the full payload is printed once, at the end
                path = save_result("main_table", payload)
            print(f"saved {path}", flush=True)
    save_result("main_table", payload)


if __name__ == "__main__":
    main()
