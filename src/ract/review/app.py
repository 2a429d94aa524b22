"""The review web app (Flask): one page, a small JSON API, and the guards of a local tool.

Routes:

- ``GET /``: the page (Jinja template, autoescaped), showing the row to resume at;
- ``GET /api/state?pos=N``: the row at position N and the progress;
- ``POST /api/decide`` ``{"row_id", "decision", "label"}``, ``POST /api/undo``, ``POST /api/export``: change or
  export, each answering with the state to show next.

The data is untrusted: the template escapes everything, the script (a static file) writes only ``textContent``,
and a Content-Security-Policy allows no inline script. Requests from another machine are refused unless
``allow_remote``; so are requests naming another host (DNS rebinding) and POSTs that are not JSON or come from
another origin (a web page cannot make the browser send them).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from flask import Flask, Response, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ract.errors import RactError
from ract.review.export import export_reviewed
from ract.review.session import ReviewSession

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # names a DNS rebinding cannot use


def create_app(
    session: ReviewSession,
    *,
    allow_remote: bool = False,
    export_path: str | Path | None = None,
    data: str | Path | None = None,
    label_column: str | None = None,
) -> Flask:
    """The Flask app reviewing ``session``.

    Args:
        session: the review; every decision is saved as it is taken.
        allow_remote: answer requests from other machines too (off by default).
        export_path, data, label_column: passed to :func:`ract.review.export.export_reviewed` by the Export action.
    """
    app = Flask(__name__)
    app.json.sort_keys = False

    @app.before_request
    def guard() -> Response | None:
        if not allow_remote and not _is_local_request():
            abort(403, "ract review answers only this machine (start it with --allow-remote to change that)")
        if request.method == "POST":
            if not request.is_json:
                abort(415, "send JSON")
            origin = request.headers.get("Origin")
            if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
                abort(403, "cross-origin request refused")
        return None

    @app.after_request
    def secure_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[Response, int]:
        return jsonify(error=err.description), err.code or 500

    @app.errorhandler(RactError)
    def user_error(err: RactError) -> tuple[Response, int]:
        return jsonify(error=str(err)), 400

    @app.get("/")
    def page() -> str:
        source = (session.summary.get("data") or {}).get("source") or str(session.output_dir)
        return render_template("review.html", state=session.state(), labels=session.labels, source=str(source))

    @app.get("/api/state")
    def state() -> Response:
        pos = request.args.get("pos", type=int)
        return jsonify(session.state(pos))

    @app.post("/api/decide")
    def decide() -> Response:
        body = request.get_json(silent=True) or {}
        try:
            row_id = int(body["row_id"])
        except (KeyError, TypeError, ValueError):
            raise RactError("row_id: give the row's id") from None
        next_pos = session.decide(row_id, str(body.get("decision", "")), body.get("label"))
        return jsonify(session.state(next_pos))

    @app.post("/api/undo")
    def undo() -> Response:
        pos = session.undo()
        if pos is None:
            raise RactError("nothing to undo")
        return jsonify(session.state(pos))

    @app.post("/api/export")
    def export() -> Response:
        result = export_reviewed(session, export_path, data=data, label_column=label_column)
        return jsonify(path=str(result.path), message=result.message(), notes=result.notes)

    return app


def _is_local_request() -> bool:
    """The request comes from this machine and names it (not a DNS-rebound name)."""
    try:
        if not ipaddress.ip_address(request.remote_addr or "").is_loopback:
            return False
    except ValueError:
        return False
    host = request.host or ""
    if not host.endswith("]"):  # drop the port; "[::1]" has colons of its own
        host = host.rpartition(":")[0] or host
    return host.strip("[]").lower() in LOCAL_HOSTS
