"""``ract review``: decide on the flagged rows in a local web page, or export the decisions taken so far."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ract.errors import RactError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``review OUTPUT_DIR [--host H] [--port P] [--allow-remote] [--export PATH]``."""
    parser = subparsers.add_parser(
        "review", help="walk through the flagged rows in a local web page and decide on each label"
    )
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the --output-dir of a `ract detect` run")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument(
        "--allow-remote", action="store_true", help="also answer requests from other machines (off by default)"
    )
    parser.add_argument(
        "--export", metavar="PATH", help="write the reviewed data set to PATH (format from its name) and exit"
    )
    parser.add_argument("--data", help="the data file of the run, if summary.json does not lead to it")
    parser.add_argument("--label-column", help="its label column, if summary.json does not record it")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, say) -> int:
    """Export and exit (``--export``), or serve the review page until Ctrl-C."""
    from ract.review.export import export_reviewed
    from ract.review.session import ReviewSession

    session = ReviewSession(Path(args.output_dir))
    if args.export:
        result = export_reviewed(session, args.export, data=args.data, label_column=args.label_column)
        for note in result.notes:
            say(f"note: {note}")
        say(result.message())
        return 0
    serve(session, args, say)
    return 0


def serve(session, args: argparse.Namespace, say) -> None:
    """Run the web server in this process until interrupted."""
    from werkzeug.serving import make_server

    from ract.review.app import create_app

    if not 0 <= args.port <= 65535:
        raise RactError(f"--port {args.port}: give a port number 0..65535")
    app = create_app(session, allow_remote=args.allow_remote, data=args.data, label_column=args.label_column)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as err:
        raise RactError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    except SystemExit:  # werkzeug has printed why (e.g. the port is in use)
        raise RactError(f"cannot listen on {args.host}:{args.port}; pick another port with --port") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    counts = session.counts()
    say(f"reviewing {session.total} flagged rows of {session.output_dir} ({session.total - counts['undecided']} "
        f"decided so far, saved in {session.decisions_path})")  # fmt: skip
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        say("note: requests from other machines are refused; pass --allow-remote to accept them")
    # The URL goes out even with --quiet: it is what the user (or a script) needs.
    print(f"open http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
