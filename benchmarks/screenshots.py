"""Screenshots of the report and the review page, and how fast the report of a 10,000-row run opens.

    .venv/bin/python -m benchmarks.screenshots [OUTPUT_DIR] [--rows 10000] [--repeats 5]

OUTPUT_DIR is a ``ract detect`` output folder; default ``out/ag_news_sym30`` (what ``make demo`` writes) if it
exists, else a simulated 10,000-row run written to ``out/synthetic_10000`` by :mod:`benchmarks.synthetic_run`
(same files and schema, no training). The script then

1. builds ``OUTPUT_DIR/report.html`` (``ract report``) and opens it in headless chromium ``--repeats`` times, each
   in a fresh browser context (empty cache), reading the Navigation Timing entry: navigation start to the end
   of the load event, in ms;
2. saves ``docs/report.png`` (top of the report) and ``docs/review.png`` (the review page, served by the same
   Flask app as ``ract review``, in this process);
3. prints and saves ``benchmarks/results/report_open.json``: rows, report size, open times, the issue's targets
   (under 2 s, under 5 MB) and the machine's load average (timings on a busy machine are upper bounds).

Needs Debian's chromium at /usr/bin/chromium (``make setup`` installs it) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import save_result
from benchmarks.synthetic_run import synthesise_run
from ract.reporting.html_report import build_report, load_scores

CHROMIUM = Path(os.environ.get("RACT_CHROMIUM", "/usr/bin/chromium"))
BROWSER_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DEMO_DIR = Path("out/ag_news_sym30")
DOCS = Path(__file__).resolve().parents[1] / "docs"
TARGET_OPEN_MS = 2000
TARGET_SIZE_MB = 5.0
NAVIGATION_TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {load: nav.loadEventEnd, dom: nav.domContentLoadedEventEnd, bytes: nav.transferSize || nav.decodedBodySize};
}"""


def resolve_output_dir(given: str | None, rows: int) -> tuple[Path, bool]:
    """(folder, synthetic?): the given folder, else the demo's, else a simulated run of ``rows`` rows."""
    if given:
        return Path(given), False
    if (DEMO_DIR / "scores.csv").is_file():
        return DEMO_DIR, False
    folder = Path("out") / f"synthetic_{rows}"
    if not (folder / "scores.csv").is_file():
        print(f"no {DEMO_DIR}: simulating a {rows}-row run in {folder} (benchmarks/synthetic_run.py)")
        synthesise_run(folder, rows)
    return folder, True


def measure_open(browser, report: Path, repeats: int) -> list[dict]:
    """Open ``report`` ``repeats`` times, each in a fresh context; Navigation Timing of each, in ms."""
    runs = []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(report.resolve().as_uri(), wait_until="load")
        runs.append(page.evaluate(NAVIGATION_TIMING))
        context.close()
    return runs


@contextlib.contextmanager
def review_server(output_dir: Path) -> Iterator[str]:
    """The ``ract review`` app on a free local port in a thread; yields its URL."""
    from werkzeug.serving import make_server

    from ract.review.app import create_app
    from ract.review.session import ReviewSession

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(ReviewSession(output_dir)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def screenshot_report(browser, report: Path, path: Path) -> None:
    """The top of the report (summary and the score histograms)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(report.resolve().as_uri(), wait_until="load")
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1100, "height": 1500}, full_page=True)
    context.close()


def screenshot_review(browser, output_dir: Path, path: Path) -> None:
    """The review page at the first row to decide."""
    with review_server(output_dir) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 620})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        page.screenshot(path=str(path))
        context.close()


def _shown(path: Path) -> str:
    """``path`` relative to the checkout when inside it (results stay readable on another machine)."""
    root = DOCS.parent
    return str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", nargs="?", help="a ract detect output folder (default: see above)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the simulated run (default 10,000)")
    parser.add_argument("--repeats", type=int, default=5, help="times the report is opened")
    parser.add_argument("--docs", default=str(DOCS), help="folder for report.png and review.png")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    output_dir, synthetic = resolve_output_dir(args.output_dir, args.rows)
    started = time.perf_counter()
    report = build_report(output_dir)
    build_seconds = time.perf_counter() - started
    size = report.stat().st_size
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        runs = measure_open(browser, report, args.repeats)
        screenshot_report(browser, report, docs / "report.png")
        screenshot_review(browser, output_dir, docs / "review.png")
        version = browser.version
        browser.close()
    load_ms = [run["load"] for run in runs]
    payload = {
        "output_dir": str(output_dir),
        "synthetic": synthetic,
        "rows": len(load_scores(output_dir)),
        "report_bytes": size,
        "report_mb": round(size / 1e6, 3),
        "build_report_seconds": round(build_seconds, 2),
        "open_ms_load_event": {"median": round(statistics.median(load_ms), 1), "max": round(max(load_ms), 1),
                               "runs": [round(ms, 1) for ms in load_ms]},
        "open_ms_dom_content_loaded_median": round(statistics.median(run["dom"] for run in runs), 1),
        "targets": {"open_ms": TARGET_OPEN_MS, "size_mb": TARGET_SIZE_MB},
        "meets_targets": max(load_ms) < TARGET_OPEN_MS and size / 1e6 < TARGET_SIZE_MB,
        "browser": f"chromium {version} (headless, {CHROMIUM})",
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "screenshots": [_shown(docs / "report.png"), _shown(docs / "review.png")],
    }  # fmt: skip
    save_result("report_open", payload)


if __name__ == "__main__":
    main()
