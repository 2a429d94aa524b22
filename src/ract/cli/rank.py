"""``ract rank``: recommend a LoRA rank for a data set and model from a short RACT probe.

The recommendation is the noise-aware optimal rank of :mod:`ract.theory.optimal_rank`,
``r* = c * (n / (d (1 + eta)))^(1 / (2 alpha + 1))``, rounded to the nearest rank in
:data:`~ract.theory.DEFAULT_RANK_CHOICES` on a log scale. Its ingredients:

* n: examples in the full data set (not the probe's subsample);
* d: the backbone hidden size, the width of the adapted query/value projections;
* eta: ``--noise-rate``, else the noise rate the probe estimates (RACT detection with ranks 4 and
  ``--probe-rank`` on a seeded subsample of at most ``--probe-rows`` rows);
* alpha: ``--alpha``, else the spectral decay of the probe's high-rank adapter (with the R^2 of the fit);
* c: ``--c``, 1.0 by default. c = 1 is a convention, not a measurement: calibrate it once per model family
  with :func:`ract.theory.calibrate_c` from a measured best rank (a rank sweep on clean labels).

Next to r*, the command prints the capacity of LoRA at each candidate rank (effective free parameters of the
adapted layers plus the head, :func:`ract.theory.lora_capacity`) and whether n exceeds it, i.e. whether that
rank is too small to memorise every labelling of the data set.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ract.cli.arguments import add_data_arguments, add_model_arguments, config_from_args, load_from_args
from ract.errors import RactError

LOW_PROBE_RANK = 4
MIN_PROBE_ROWS = 10
C_NOTE = (
    "c = 1 is a convention; calibrate it once per model family with ract.theory.calibrate_c "
    "from a measured best rank (a rank sweep on clean labels)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="recommend a LoRA rank: short probe, estimate eta and alpha, print capacity, r* and the evidence",
        description=(
            "Recommend a LoRA rank for a data set and model. A short RACT probe (ranks 4 and --probe-rank on a "
            "seeded subsample) estimates the noise rate eta and the spectral decay alpha of the adapter update; "
            "then r* = c * (n / (d (1 + eta)))^(1 / (2 alpha + 1)) with n the full data set size and d the "
            "backbone hidden size. The probe is skipped when both --noise-rate and --alpha are given."
        ),
    )
    add_data_arguments(parser)
    add_model_arguments(parser)
    # The probe has its own rank and epoch options; the shared --ranks/--epochs would only confuse here.
    for action in parser._actions:
        if action.dest in ("ranks", "epochs"):
            action.help = argparse.SUPPRESS
    parser.set_defaults(ranks=None, epochs=None)
    parser.add_argument(
        "--probe-rows", type=int, default=2000, help="probe on a seeded subsample of at most this many rows"
    )
    parser.add_argument("--probe-epochs", type=int, default=2, help="training epochs of the probe")
    parser.add_argument(
        "--probe-rank",
        type=int,
        default=16,
        help=f"rank of the probe's high-rank adapter (trained next to rank {LOW_PROBE_RANK}); alpha is fitted "
        "on its singular values",
    )
    parser.add_argument("--noise-rate", type=float, help="label-noise rate eta in [0, 1) (default: the probe's)")
    parser.add_argument("--alpha", type=float, help="spectral decay exponent alpha > 0 (default: fitted by the probe)")
    parser.add_argument(
        "--c",
        type=float,
        help="scale constant of r* (default 1.0). c = 1 is a convention: calibrate it with "
        "ract.theory.calibrate_c from a measured best rank",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    parser.set_defaults(run=run)


def validate_args(args: argparse.Namespace) -> None:
    """Refuse bad option values before loading anything (each message names its option)."""
    if args.ranks is not None or args.epochs is not None:
        raise RactError("ract rank sets the probe with --probe-rank and --probe-epochs, not --ranks/--epochs")
    if args.noise_rate is not None and not 0 <= args.noise_rate < 1:
        raise RactError(f"--noise-rate {args.noise_rate}: must be a fraction in [0, 1)")
    if args.alpha is not None and not args.alpha > 0:
        raise RactError(f"--alpha {args.alpha}: must be positive")
    if args.c is not None and not args.c > 0:
        raise RactError(f"--c {args.c}: must be positive")
    if args.probe_rows < MIN_PROBE_ROWS:
        raise RactError(f"--probe-rows {args.probe_rows}: must be at least {MIN_PROBE_ROWS}")
    if args.probe_epochs < 1:
        raise RactError(f"--probe-epochs {args.probe_epochs}: must be at least 1")
    if args.probe_rank <= LOW_PROBE_RANK:
        raise RactError(
            f"--probe-rank {args.probe_rank}: must exceed {LOW_PROBE_RANK} (the probe trains rank "
            f"{LOW_PROBE_RANK} and --probe-rank side by side)"
        )


def adapted_layer_indices(num_layers: int, adapted_layers: int | None) -> list[int]:
    """Indices of the top layers that carry LoRA (same rule as :class:`~ract.models.classifier.LoraClassifier`)."""
    k = num_layers if adapted_layers is None else max(1, min(adapted_layers, num_layers))
    return list(range(num_layers - k, num_layers))


def probe_sample(n: int, rows: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subsample of at most ``rows`` of ``n`` rows (all rows if n <= rows)."""
    if n <= rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))


def run_probe(args, config, data, backbone, say) -> dict:
    """Train RACT (ranks 4 and --probe-rank) on a subsample; return its evidence and the fitted detector."""
    from ract.detection.pipeline import RACT

    rows = probe_sample(len(data.texts), args.probe_rows, args.seed)
    texts = [data.texts[i] for i in rows]
    labels = data.labels[rows]
    say(
        f"probe: ranks {LOW_PROBE_RANK},{args.probe_rank}, {args.probe_epochs} epoch(s) on {len(rows)} of "
        f"{len(data.texts)} rows"
    )
    started = time.perf_counter()
    detector = RACT(config, show_progress=not args.quiet).fit(texts, labels, data.num_classes, backbone=backbone)
    seconds = time.perf_counter() - started
    say(f"probe done in {seconds:.1f}s, estimated noise rate {detector.estimated_noise_rate_:.3f}")
    return {
        "detector": detector,
        "rows": len(rows),
        "epochs": config.epochs,
        "ranks": list(config.ranks),
        "seed": config.seed,
        "estimated_noise_rate": float(detector.estimated_noise_rate_),
        "num_flagged": int(detector.label_issues_.sum()),
        "timings_seconds": {**detector.timings_, "total": seconds},
    }


def resolve_noise_rate(args, probe: dict | None, data) -> dict:
    truth = None
    if data.clean_labels is not None:
        truth = float(np.mean(data.clean_labels != data.labels))
    out = {"probe_estimate": probe["estimated_noise_rate"] if probe else None, "ground_truth": truth}
    if args.noise_rate is not None:
        return {"value": float(args.noise_rate), "source": "--noise-rate", **out}
    eta = probe["estimated_noise_rate"]
    if not 0 <= eta < 1:
        raise RactError(f"the probe estimated a noise rate of {eta:.3f}, outside [0, 1); set it with --noise-rate")
    return {"value": eta, "source": "probe", **out}


def resolve_alpha(args, probe: dict | None) -> dict:
    from ract.theory import estimate_alpha_from_model

    if args.alpha is not None:
        return {"value": float(args.alpha), "source": "--alpha", "r_squared": None, "fitted_on_rank": None}
    encoder = probe["detector"].adapters_[-1].encoder
    try:
        alpha, r_squared = estimate_alpha_from_model(encoder)
    except RactError as err:
        raise RactError(f"{err}; set alpha with --alpha") from err
    if not alpha > 0:
        raise RactError(
            f"the probe adapter's singular values do not decay (fitted alpha = {alpha:.3g}); set alpha with --alpha"
        )
    return {"value": alpha, "source": "probe", "r_squared": r_squared, "fitted_on_rank": probe["ranks"][-1]}


def capacity_rows(backbone, layers: list[int], num_classes: int, n: int) -> list[dict]:
    from ract.theory import DEFAULT_RANK_CHOICES, lora_capacity

    rows = []
    for r in DEFAULT_RANK_CHOICES:
        cap = lora_capacity(backbone.model, r, backbone.target_modules, layers=layers, num_classes=num_classes)
        n_star = cap.memorization_n()
        rows.append(
            {
                "rank": r,
                "lora_dof": cap.total_lora_dof,
                "head_params": cap.head_params,
                "total_dof": cap.total,
                "memorization_n": n_star,
                "n_over_memorization_n": n / n_star,
                "n_exceeds_capacity": n > n_star,
            }
        )
    return rows


def run(args: argparse.Namespace, say) -> int:
    from ract.models.backbone import load_backbone
    from ract.reporting.outputs import to_jsonable
    from ract.theory import DEFAULT_RANK_CHOICES, optimal_rank, recommend_rank

    validate_args(args)
    c = 1.0 if args.c is None else float(args.c)
    started = time.perf_counter()
    probe_args = argparse.Namespace(
        **{**vars(args), "ranks": f"{LOW_PROBE_RANK},{args.probe_rank}", "epochs": args.probe_epochs}
    )
    config = config_from_args(probe_args)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    data = load_from_args(args, say)
    timings["load_data"] = time.perf_counter() - t

    t = time.perf_counter()
    backbone = load_backbone(config.model)
    timings["load_model"] = time.perf_counter() - t

    probe = None
    if args.noise_rate is None or args.alpha is None:
        probe = run_probe(args, config, data, backbone, say)
        timings["probe"] = probe["timings_seconds"]["total"]
    else:
        say("--noise-rate and --alpha given: no probe needed")

    eta = resolve_noise_rate(args, probe, data)
    alpha = resolve_alpha(args, probe)
    n, d = len(data.texts), backbone.hidden_size
    layers = adapted_layer_indices(backbone.num_layers, config.adapted_layers)
    r_star = optimal_rank(n, d, eta["value"], alpha["value"], c)
    recommended = recommend_rank(n, d, eta["value"], alpha["value"], c)
    capacity = capacity_rows(backbone, layers, data.num_classes, n)
    timings["total"] = time.perf_counter() - started

    notes = [C_NOTE]
    rec_row = next(row for row in capacity if row["rank"] == recommended)
    if not rec_row["n_exceeds_capacity"]:
        notes.append(
            f"n = {n} does not exceed the capacity n* = {rec_row['memorization_n']} of rank {recommended}: "
            "that adapter could memorise every labelling, noisy labels included"
        )
    result = {
        "command": "rank",
        "data": {"source": data.source, "split": args.split, "num_examples": n, "num_classes": data.num_classes},
        "model": {
            "name": backbone.name,
            "hidden_size": d,
            "num_layers": backbone.num_layers,
            "target_modules": list(backbone.target_modules),
            "adapted_layers": layers,
        },
        "n": n,
        "d": d,
        "noise_rate": eta,
        "alpha": alpha,
        "c": {"value": c, "source": "default" if args.c is None else "--c", "note": C_NOTE},
        "formula": "r* = c * (n / (d * (1 + eta))) ** (1 / (2 * alpha + 1))",
        "optimal_rank": r_star,
        "recommended_rank": recommended,
        "rank_choices": list(DEFAULT_RANK_CHOICES),
        "capacity": capacity,
        "probe": None if probe is None else {k: v for k, v in probe.items() if k != "detector"},
        "timings_seconds": timings,
        "notes": notes,
    }
    if args.json:
        print(json.dumps(to_jsonable(result), indent=2))
    else:
        print(format_table(result))
    return 0


def _describe_eta(eta: dict) -> str:
    if eta["source"] == "--noise-rate":
        text = "given by --noise-rate"
        if eta["probe_estimate"] is not None:
            text += f"; the probe estimated {eta['probe_estimate']:.3f}"
    else:
        text = "estimated by the probe"
    if eta["ground_truth"] is not None:
        text += f"; ground truth {eta['ground_truth']:.3f}"
    return text


def _describe_alpha(alpha: dict) -> str:
    if alpha["source"] == "--alpha":
        return "given by --alpha"
    return (
        f"fitted on the singular values of the probe's rank-{alpha['fitted_on_rank']} adapter, "
        f"R^2 = {alpha['r_squared']:.3f}"
    )


def format_table(result: dict) -> str:
    """The human-readable report of :func:`run`."""
    model, eta, alpha, c = result["model"], result["noise_rate"], result["alpha"], result["c"]
    layers = ", ".join(map(str, model["adapted_layers"]))
    lines = [
        f"data:  {result['data']['source']}, n = {result['n']} examples, {result['data']['num_classes']} classes",
        f"model: {model['name']}, d = {result['d']}, LoRA on {', '.join(model['target_modules'])} of layer(s) "
        f"{layers} (of {model['num_layers']})",
        "",
        f"eta   = {eta['value']:.4f}  ({_describe_eta(eta)})",
        f"alpha = {alpha['value']:.4f}  ({_describe_alpha(alpha)})",
        f"c     = {c['value']:.4g}  ({'given by --c' if c['source'] == '--c' else 'default'}; {C_NOTE})",
        "",
        "LoRA capacity (effective free parameters of the adapted layers + head; n* = examples it can memorise):",
        f"{'rank':>6} {'LoRA dof':>10} {'head':>7} {'n*':>10} {'n / n*':>8}  n > n*",
    ]
    for row in result["capacity"]:
        mark = "  <- recommended" if row["rank"] == result["recommended_rank"] else ""
        lines.append(
            f"{row['rank']:>6} {row['lora_dof']:>10} {row['head_params']:>7} {row['memorization_n']:>10} "
            f"{row['n_over_memorization_n']:>8.2f}  {'yes' if row['n_exceeds_capacity'] else 'no':<3}{mark}".rstrip()
        )
    lines += [
        "",
        f"r* = {result['optimal_rank']:.3f}   ({result['formula']})",
        f"recommended rank: {result['recommended_rank']} (nearest to r* on a log scale among "
        f"{', '.join(map(str, result['rank_choices']))})",
    ]
    probe = result["probe"]
    if probe is None:
        lines.append("probe: not run (--noise-rate and --alpha given)")
    else:
        t = probe["timings_seconds"]
        lines.append(
            f"probe: ranks {','.join(map(str, probe['ranks']))}, {probe['epochs']} epoch(s) on {probe['rows']} rows, "
            f"{t['total']:.1f}s (training {t['train']:.1f}s), flagged {probe['num_flagged']}"
        )
    lines += [f"note: {note}" for note in result["notes"][1:]]
    return "\n".join(lines)
