"""``ract review``: decisions saved and resumed, export, escaping, the local-only guard, and a real browser run.

Output folders are synthetic (scores.csv + summary.json written here): no detection runs.
The browser tests drive Debian's chromium (/usr/bin/chromium, installed by `make setup`) through Playwright.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ract.cleaning import label_codec
from ract.cli.main import main
from ract.data import write_table
from ract.reporting.outputs import write_json, write_scores_csv
from ract.review.app import create_app
from ract.review.decisions import DECISIONS_FILE
from ract.review.session import ReviewSession

PAYLOAD = "<script>alert(1)</script><b>x</b>"
NAMES = ["World", "Sports", "Business", PAYLOAD]
CHROMIUM = Path("/usr/bin/chromium")


def make_run(
    folder: Path, n_rows: int = 62, n_scored: int = 60, n_flagged: int = 50, data_name: str = "data.csv"
) -> Path:
    """A data file and the output folder of a pretend ``ract detect`` run on it; returns the folder.

    Data rows 0..n_rows-1; the first ``n_scored`` are scored (the last two are not, like dropped empty texts).
    Noise score falls with the row number, so row ``i`` is the i-th most suspicious and rows 0..n_flagged-1
    are flagged. Row 0 has the HTML payload as text and as given label.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.arange(n_rows)
    labels = [NAMES[i % 3] for i in rows]
    labels[0] = PAYLOAD
    texts = [f"text of row {i}" for i in rows]
    texts[0] = PAYLOAD
    data = pd.DataFrame({"id": [f"doc-{i}" for i in rows], "text": texts, "label": labels})
    data_path = folder / data_name
    write_table(data, data_path)
    scored = rows[:n_scored]
    suggested = [NAMES[(i + 1) % 3] for i in scored]
    scores = pd.DataFrame(
        {"index": scored, "text": [texts[i] for i in scored], "is_label_issue": scored < n_flagged,
         "label_quality": np.linspace(0.01, 0.9, n_scored), "noise_score": np.linspace(5.0, 0.1, n_scored),
         "given_label": [labels[i] for i in scored], "predicted_label": suggested}
    )  # fmt: skip
    out = folder / "out"
    write_scores_csv(out / "scores.csv", scores)
    summary = {
        "command": "detect",
        "data": {"source": str(data_path), "path": str(data_path.resolve()), "split": "train",
                 "text_column": None, "label_column": None, "num_examples": n_scored, "num_classes": len(NAMES),
                 "label_names": NAMES},
        "noise_injection": None,
    }  # fmt: skip
    write_json(out / "summary.json", summary)
    return out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def client_for(out: Path, **options):
    app = create_app(ReviewSession(out), **options)
    return app.test_client()


def post(client, url: str, body: dict | None = None, **kwargs):
    return client.post(url, json=body or {}, **kwargs)


def decisions_of(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / DECISIONS_FILE, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------------------------ unit tests


def test_decisions_are_saved_at_once_and_resumed(run_dir: Path) -> None:
    client = client_for(run_dir)
    state = client.get("/api/state").get_json()
    assert state["pos"] == 0 and state["total"] == 50 and state["item"]["row_id"] == 0
    steps = [(0, "accept", None), (1, "keep", None), (2, "relabel", " sports "), (3, "drop", None)]
    for row_id, decision, label in steps:
        state = post(client, "/api/decide", {"row_id": row_id, "decision": decision, "label": label}).get_json()
        assert state["item"]["row_id"] == row_id + 1, "the next row comes up by itself"
        assert len(decisions_of(run_dir)) == row_id + 1, "saved after every decision"
    saved = decisions_of(run_dir)
    assert list(saved.columns) == ["row_id", "given_label", "decision", "new_label", "decided_at"]
    assert saved["row_id"].tolist() == ["0", "1", "2", "3"]
    assert saved["decision"].tolist() == ["accept", "keep", "relabel", "drop"]
    assert saved["new_label"].tolist() == ["Sports", "Sports", "Sports", ""]  # suggested, given, typed (case fixed)
    assert saved["given_label"].tolist() == [PAYLOAD, "Sports", "Business", "World"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", saved["decided_at"][0])

    resumed = client_for(run_dir)  # a new server on the same folder
    state = resumed.get("/api/state").get_json()
    assert state["pos"] == 4 and state["decided"] == 4 and state["item"]["row_id"] == 4
    assert "text of row 4" in resumed.get("/").get_data(as_text=True)
    back = resumed.get("/api/state?pos=2").get_json()["item"]
    assert back["decision"] == "relabel" and back["new_label"] == "Sports"


def test_undo_takes_back_the_latest_decision(run_dir: Path) -> None:
    client = client_for(run_dir)
    post(client, "/api/decide", {"row_id": 0, "decision": "drop"})
    post(client, "/api/decide", {"row_id": 1, "decision": "accept"})
    state = post(client, "/api/undo").get_json()
    assert state["pos"] == 1 and state["item"]["decision"] is None and state["decided"] == 1
    assert decisions_of(run_dir)["row_id"].tolist() == ["0"]
    post(client, "/api/undo")
    reply = post(client, "/api/undo")
    assert reply.status_code == 400 and "nothing to undo" in reply.get_json()["error"]


def test_a_label_that_is_not_known_is_refused(run_dir: Path) -> None:
    client = client_for(run_dir)
    reply = post(client, "/api/decide", {"row_id": 0, "decision": "relabel", "label": "Sprots"})
    assert reply.status_code == 400
    assert "unknown label 'Sprots'" in reply.get_json()["error"] and "World" in reply.get_json()["error"]
    assert post(client, "/api/decide", {"row_id": 0, "decision": "relabel", "label": ""}).status_code == 400
    assert post(client, "/api/decide", {"row_id": 0, "decision": "maybe"}).status_code == 400
    assert post(client, "/api/decide", {"row_id": 55, "decision": "keep"}).status_code == 400, "row 55 not flagged"
    assert not (run_dir / DECISIONS_FILE).exists()
    ok = post(client, "/api/decide", {"row_id": 0, "decision": "relabel", "label": PAYLOAD})
    assert ok.status_code == 200 and decisions_of(run_dir)["new_label"][0] == PAYLOAD


def test_data_is_escaped_and_scripts_are_locked_down(run_dir: Path) -> None:
    client = client_for(run_dir)
    reply = client.get("/")
    page = reply.get_data(as_text=True)
    assert PAYLOAD not in page and "<b>x</b>" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"
    assert page.count(escaped) >= 3, "text, given label and the label list"
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/review.js" defer>'], "no inline script"
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    script = client.get("/static/review.js").get_data(as_text=True)
    assert "textContent" in script and "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert client.get("/api/state").get_json()["item"]["text"] == PAYLOAD  # JSON carries it as data


def test_requests_from_other_machines_are_refused(run_dir: Path) -> None:
    client = client_for(run_dir)
    remote = {"REMOTE_ADDR": "192.168.1.20"}
    assert client.get("/", environ_base=remote).status_code == 403
    reply = post(client, "/api/decide", {"row_id": 0, "decision": "drop"}, environ_base=remote)
    assert reply.status_code == 403 and "--allow-remote" in reply.get_json()["error"]
    assert not (run_dir / DECISIONS_FILE).exists()
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 403, "DNS rebinding"
    assert client.post("/api/undo", data="x", content_type="text/plain").status_code == 415, "JSON only"
    cross = post(client, "/api/decide", {"row_id": 0, "decision": "drop"}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.get("/", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    opened = client_for(run_dir, allow_remote=True)
    assert opened.get("/", environ_base=remote, headers={"Host": "192.168.1.5:8765"}).status_code == 200


def decide_some(out: Path) -> None:
    session = ReviewSession(out)
    session.decide(0, "accept")  # payload label -> Sports
    session.decide(1, "keep")
    session.decide(2, "relabel", "world")
    session.decide(3, "drop")
    session.decide(4, "accept")
    session.decide(4, "drop")  # changed my mind: the latest decision counts


def test_export_csv_applies_decisions_and_keeps_the_rest(run_dir: Path, capsys) -> None:
    decide_some(run_dir)
    target = run_dir.parent / "reviewed.csv"
    assert main(["review", str(run_dir), "--export", str(target)]) == 0
    assert "2 dropped" in capsys.readouterr().err
    out = pd.read_csv(target, dtype=str, keep_default_na=False)
    original = pd.read_csv(run_dir.parent / "data.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == ["id", "text", "label", "ract_change"]
    assert len(out) == 60 and "doc-3" not in set(out["id"]) and "doc-4" not in set(out["id"])
    by_id = out.set_index("id")
    assert by_id.loc["doc-0", "label"] == "Sports" and by_id.loc["doc-0", "text"] == PAYLOAD
    assert by_id.loc["doc-0", "ract_change"] == f"relabelled: {PAYLOAD} -> Sports"
    assert by_id.loc["doc-1", "ract_change"] == "kept (reviewed)" and by_id.loc["doc-1", "label"] == "Sports"
    assert by_id.loc["doc-2", "label"] == "World"
    assert by_id.loc["doc-5", "ract_change"] == "flagged, not reviewed"
    assert by_id.loc["doc-55", "ract_change"] == "kept" and by_id.loc["doc-61", "ract_change"] == "not scored"
    untouched = [f"doc-{i}" for i in range(5, 62)]
    assert (by_id.loc[untouched, "label"] == original.set_index("id").loc[untouched, "label"]).all()


def test_export_endpoint_writes_the_input_format(tmp_path: Path) -> None:
    out = make_run(tmp_path, data_name="data.parquet")
    client = client_for(out)
    post(client, "/api/decide", {"row_id": 1, "decision": "relabel", "label": "Business"})
    post(client, "/api/decide", {"row_id": 2, "decision": "drop"})
    reply = post(client, "/api/export")
    assert reply.status_code == 200, reply.get_json()
    path = Path(reply.get_json()["path"])
    assert path == out / "reviewed.parquet" and "1 relabelled" in reply.get_json()["message"]
    frame = pd.read_parquet(path)
    assert len(frame) == 61 and frame.loc[1, "label"] == "Business"
    assert frame.loc[1, "ract_change"] == "relabelled: Sports -> Business"


def test_export_writes_class_ids_back_into_a_file_of_ids(tmp_path: Path) -> None:
    out = make_run(tmp_path)
    data = pd.read_csv(tmp_path / "data.csv")
    data["label"] = [NAMES.index(name) for name in data["label"]]  # like the AG News preset copy: 0..C-1
    data.to_csv(tmp_path / "data.csv", index=False)
    session = ReviewSession(out)
    session.decide(1, "relabel", "Business")
    session.decide(2, "accept")
    target = tmp_path / "ids.jsonl"
    assert main(["review", str(out), "--export", str(target), "--quiet"]) == 0
    frame = pd.read_json(target, lines=True)
    assert frame["label"].tolist()[:4] == [3, 2, 0, 0] and frame["ract_change"][1] == "relabelled: Sports -> Business"
    encode, decode = label_codec(pd.Series([0, 1, 2]), ["a", "b", "c"])
    assert encode("c") == 2 and decode(1) == "b"
    encode, decode = label_codec(pd.Series([1, 5]), ["1", "5"])  # star ratings: names are the values
    assert encode("5") == 5 and decode(1) == "1"


def test_export_after_injected_noise_starts_from_the_labels_the_run_saw(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["noise_injection"] = {"kind": "symmetric"}
    write_json(run_dir / "summary.json", summary)
    scores = pd.read_csv(run_dir / "scores.csv")
    scores.loc[scores["index"] == 7, "given_label"] = "Business"  # the injected (noisy) label of row 7
    write_scores_csv(run_dir / "scores.csv", scores)
    target = run_dir / "x.csv"
    assert main(["review", str(run_dir), "--export", str(target), "--quiet"]) == 0
    assert pd.read_csv(target)["label"][7] == "Business"


HEADER = b"row_id,given_label,decision,new_label,decided_at\n"


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        (b"row_id,given_label\n1,a\n", "lack the column(s) decision, new_label, decided_at"),
        (HEADER + b"one,Sports,keep,Sports,t\n", "line 2: row_id 'one' is not a whole number"),
        (HEADER + b"1,Sports,perhaps,Sports,t\n", "decision 'perhaps' is not one of"),
        (HEADER + b"1,Sports,drop,Sports,t\n", "has a new_label"),
        (HEADER + b"57,World,keep,World,t\n", "row_id 57 is not a flagged row"),
        (HEADER + b"1,World,keep,World,t\n", "has given_label 'World' but scores.csv says 'Sports'"),
        (b'row_id,"decision\n\xff\xfe\n', "cannot read the review decisions"),
    ],
)
def test_a_corrupt_decisions_file_is_a_clear_error(run_dir: Path, decisions: bytes, message: str, capsys) -> None:
    (run_dir / DECISIONS_FILE).write_bytes(decisions)
    assert main(["review", str(run_dir), "--export", str(run_dir / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(run_dir / DECISIONS_FILE) in err and "Traceback" not in err
    assert not (run_dir / "x.csv").exists()


def test_a_missing_folder_or_scores_file_is_a_clear_error(run_dir: Path, capsys) -> None:
    assert main(["review", str(run_dir / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (run_dir / "scores.csv").unlink()
    assert main(["review", str(run_dir)]) == 2
    assert f"no scores.csv in {run_dir}" in capsys.readouterr().err


def test_data_file_that_cannot_be_found_asks_for_data(run_dir: Path, capsys) -> None:
    (run_dir.parent / "data.csv").rename(run_dir.parent / "moved.csv")
    assert main(["review", str(run_dir), "--export", str(run_dir / "x.csv")]) == 2
    assert "--data" in capsys.readouterr().err
    args = ["review", str(run_dir), "--export", str(run_dir / "x.csv"), "--data", str(run_dir.parent / "moved.csv")]
    assert main(args) == 0


# ------------------------------------------------------------------------------------------------ browser


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (`make setup` installs Debian's chromium; it needs root and apt)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


BROWSER_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield browser
        browser.close()


class Server:
    """``ract review OUTPUT_DIR --port 0`` in a real subprocess; ``url`` read from what it prints."""

    def __init__(self, out: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ract.cli.main", "review", str(out), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        line = self.process.stdout.readline()
        match = re.search(r"http://\S+/", line)
        if not match:
            self.process.kill()
            raise AssertionError(f"no URL from ract review: {line!r} {self.process.stderr.read()}")
        self.url = match.group(0)

    def kill(self) -> None:
        """SIGKILL: no chance to save anything on the way out."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.process.stderr.close()


def open_page(browser, url: str):
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page, dialogs


def wait_for_decided(page, count: int) -> None:
    page.wait_for_selector(f"body[data-decided='{count}']", timeout=5000)  # selectors: the CSP forbids eval


def test_review_in_a_real_browser_survives_a_killed_server(browser, tmp_path: Path) -> None:
    out = make_run(tmp_path)
    server = Server(out)
    try:
        page, dialogs = open_page(browser, server.url)
        assert page.text_content("#text") == PAYLOAD, "the payload is shown literally"
        assert page.text_content("#given") == PAYLOAD
        assert page.locator("#text b, #given b, script:not([src])").count() == 0, "no element came from the data"
        assert page.inner_text("#text") == PAYLOAD, "visible as text"
        page.keyboard.press("a")
        wait_for_decided(page, 1)
        page.keyboard.press("k")
        wait_for_decided(page, 2)
        page.keyboard.press("e")
        page.keyboard.type("Sprots")
        page.keyboard.press("Enter")
        page.wait_for_selector("#error:has-text('unknown label')")
        page.fill("#other-label", "")
        page.keyboard.type("business")
        page.keyboard.press("Enter")
        wait_for_decided(page, 3)
        page.keyboard.press("d")
        wait_for_decided(page, 4)
        page.keyboard.press("u")  # undo the drop: back on row 3
        wait_for_decided(page, 3)
        assert page.text_content("#row-id") == "3" and page.text_content("#current-decision") == "not decided"
        page.keyboard.press("d")
        wait_for_decided(page, 4)
        assert page.text_content("#row-id") == "4"
        page.keyboard.press("ArrowLeft")
        page.wait_for_selector("body[data-row-id='3']")
        assert page.text_content("#current-decision") == "drop"
        saved = decisions_of(out)
        assert saved["decision"].tolist() == ["accept", "keep", "relabel", "drop"]
        assert saved["new_label"].tolist()[:3] == ["Sports", "Sports", "Business"]
        assert dialogs == [], "the <script> in the data never ran"
    finally:
        server.kill()
    assert len(decisions_of(out)) == 4, "nothing lost to SIGKILL"

    server = Server(out)
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        assert page.text_content("#row-id") == "4" and page.text_content("#progress-text") == "4 of 50 decided"
        page.keyboard.press("x")
        page.wait_for_selector("#message:has-text('wrote')")
        exported = pd.read_csv(out / "reviewed.csv", dtype=str, keep_default_na=False).set_index("id")
        assert len(exported) == 61 and "doc-3" not in exported.index
        assert exported.loc["doc-0", "label"] == "Sports" and exported.loc["doc-2", "label"] == "Business"
        assert exported.loc["doc-0", "text"] == PAYLOAD
        assert exported.loc["doc-4", "ract_change"] == "flagged, not reviewed"
        assert dialogs == []
        page.close()
    finally:
        server.kill()


@contextlib.contextmanager
def server_in_a_thread(out: Path) -> Iterator[str]:
    """The same app on a real HTTP server in this process (starts in milliseconds); yields its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(ReviewSession(out)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_fifty_rows_take_fifty_key_presses(browser, tmp_path: Path) -> None:
    out = make_run(tmp_path)
    with server_in_a_thread(out) as url:
        page, dialogs = open_page(browser, url)
        presses = 0
        started = time.perf_counter()
        for i in range(50):
            page.keyboard.press("akd"[i % 3])
            presses += 1
        wait_for_decided(page, 50)
        elapsed = time.perf_counter() - started
        assert presses == 50
        assert page.is_visible("#done") and not page.is_visible("#card")
        saved = decisions_of(out)
        assert saved["row_id"].astype(int).tolist() == list(range(50)), "in score order, one press each"
        assert saved["decision"].tolist() == [["accept", "keep", "drop"][i % 3] for i in range(50)]
        assert elapsed < 15, f"50 decisions took {elapsed:.1f}s"
        assert dialogs == []
        page.close()
