"""The ``ract`` command: one sub-command per job; user mistakes become a message and exit code 2."""

from __future__ import annotations

import argparse
import sys
import warnings

from ract.cli import bench, clean, detect, rank, report, review, train
from ract.errors import RactError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ract", description="Find mislabelled examples in text classification data with rank-aware LoRA."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    detect.register(subparsers)
    train.register(subparsers)
    clean.register(subparsers)
    report.register(subparsers)
    review.register(subparsers)
    rank.register(subparsers)
    bench.register(subparsers)
    return parser


def _version() -> str:
    from ract import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    # transformers 5 deprecation chatter raised inside peft; nothing a user can act on.
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # as typed, for reports
    quiet = getattr(args, "quiet", False)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    try:
        return args.run(args, say)
    except RactError as err:
        print(f"ract {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ract {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
