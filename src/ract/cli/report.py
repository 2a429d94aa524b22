"""``ract report``: turn the files of a ``ract detect`` run into one self-contained ``report.html``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ract.errors import RactError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report OUTPUT_DIR [--top N]`` sub-command."""
    parser = subparsers.add_parser("report", help="write an HTML report of a detection run")
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the --output-dir of a `ract detect` run")
    parser.add_argument("--top", type=int, default=200, help="most suspicious examples listed (default: 200)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, say) -> int:
    """Build ``OUTPUT_DIR/report.html`` and say where it is; RactError for a bad folder or ``--top``."""
    from ract.reporting.html_report import build_report  # matplotlib loads only when this command runs

    if args.top < 1:
        raise RactError(f"--top must be at least 1, got {args.top}")
    path = build_report(Path(args.output_dir), top=args.top)
    size_mb = path.stat().st_size / 1e6
    say(f"wrote {path} ({size_mb:.1f} MB); open it in a browser")
    return 0
