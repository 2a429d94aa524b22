"""``ract bench``: RACT against peer methods on one data set with injected noise; writes bench.json and bench.md.

The grid is every ``--inject-noise`` kind x every ``--noise-rate`` x every ``--seeds`` value x every ``--methods``
method (see :mod:`ract.detection.bench`); the file's labels are taken as the truth. bench.json is rewritten after
every finished cell, so a stopped run keeps what finished and ``--resume`` skips it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from ract.cli.arguments import add_data_arguments, add_model_arguments, config_from_args, load_from_args
from ract.detection import DEFAULT_METHODS, METHODS
from ract.errors import RactError
from ract.noise import NOISE_KINDS

RESULTS_FILE, REPORT_FILE = "bench.json", "bench.md"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="compare RACT with peer methods on injected noise (bench.json, bench.md)",
        description=__doc__.split("\n\n")[0].removeprefix("``ract bench``: ")
        + " --seed picks the --limit row sample (the same rows for every "
        "--seeds value); --seeds are the noise and model seeds.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--inject-noise", required=True, help=f"noise kind(s), comma-separated: {', '.join(NOISE_KINDS)}"
    )
    parser.add_argument("--noise-rate", default="0.3", help="rate(s) to corrupt, comma-separated (default: 0.3)")
    parser.add_argument(
        "--methods", default=",".join(DEFAULT_METHODS), help=f"comma-separated, of: {', '.join(METHODS)}"
    )
    parser.add_argument("--seeds", default="0", help="noise and model seeds, comma-separated (default: 0)")
    add_model_arguments(parser)
    parser.add_argument("--output-dir", required=True, help="folder for bench.json and bench.md")
    parser.add_argument(
        "--resume", action="store_true", help="keep the finished cells of bench.json and run the rest (else start over)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, say) -> int:
    from ract.detection.bench import make_setting, parse_methods, parse_seeds, run_grid, start_results
    from ract.models.backbone import load_backbone
    from ract.reporting.bench_report import render_markdown
    from ract.reporting.outputs import git_commit, library_versions, machine_info, write_json, write_text_atomic

    methods = parse_methods(args.methods)  # user mistakes first, before anything slow
    seeds = parse_seeds(args.seeds)
    name = Path(args.data).name
    kinds = [k.strip() for k in args.inject_noise.split(",") if k.strip()]
    rates = [r.strip() for r in args.noise_rate.split(",") if r.strip()]
    if not kinds or not rates:
        raise RactError("give at least one --inject-noise kind and one --noise-rate")
    settings = [make_setting(name, kind, rate) for kind in kinds for rate in rates]
    config = config_from_args(args)
    out_dir = Path(args.output_dir)
    results_path = out_dir / RESULTS_FILE
    previous = None
    if args.resume and results_path.exists():
        previous = json.loads(results_path.read_text(encoding="utf-8"))
    meta = {"data": args.data, "split": args.split, "rows": args.limit, "sample_seed": args.seed}
    results = start_results(previous, settings, methods, seeds, config, meta)
    command = shlex.join(["ract", *getattr(args, "argv", ["bench", "..."])])

    def save(current: dict) -> None:
        provenance = {
            "commit": git_commit(),
            "machine": machine_info(),
            "versions": library_versions(),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": command,
        }
        write_json(results_path, {**current, "provenance": provenance})
        report = render_markdown({**current, "provenance": provenance}, title=f"ract bench: {name}", commands=[command])
        write_text_atomic(out_dir / REPORT_FILE, report)

    data = load_from_args(args, say)
    backbone = load_backbone(config.model)
    run_grid(results, settings, seeds, methods, lambda _: data, config, backbone, save, say, not args.quiet)
    save(results)
    say(f"wrote {results_path} and {out_dir / REPORT_FILE}")
    return 0
