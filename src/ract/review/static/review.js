// ract review: keyboard-driven walk through the flagged rows.
// Data is untrusted: it is only ever written with textContent, never parsed as HTML.
// Keys: a accept, k keep, d drop, e type another label (Enter), u undo, arrows move, x export.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let state = null;
  let queue = Promise.resolve();

  // Actions run one after another, so fast typing is neither lost nor applied to the wrong row.
  function enqueue(action) {
    queue = queue.then(action).catch((err) => showError(err.message));
    return queue;
  }

  async function call(method, url, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  function setText(id, value) {
    $(id).textContent = value === null || value === undefined ? "" : String(value);
  }

  function showError(text) {
    setText("error", text);
  }

  function render(next) {
    state = next;
    const item = next.item;
    document.body.dataset.pos = String(next.pos);
    document.body.dataset.decided = String(next.decided);
    document.body.dataset.rowId = item ? String(item.row_id) : "";
    setText("progress-text", `${next.decided} of ${next.total} decided`);
    $("progress-bar").max = Math.max(next.total, 1);
    $("progress-bar").value = next.decided;
    $("card").hidden = !item;
    $("done").hidden = Boolean(item);
    if (!item) return;
    setText("position", `${next.pos + 1} of ${next.total}`);
    setText("row-id", item.row_id);
    setText("score", item.noise_score === null ? "n/a" : item.noise_score.toFixed(4));
    setText("quality", item.label_quality === null ? "n/a" : item.label_quality.toFixed(3));
    setText("text", item.text);
    setText("given", item.given_label);
    setText("suggested", item.suggested_label);
    const decided = item.decision ? `${item.decision}${item.new_label ? " \u2192 " + item.new_label : ""}` : "not decided";
    setText("current-decision", decided);
  }

  async function show(pos) {
    render(await call("GET", `/api/state?pos=${encodeURIComponent(pos)}`));
  }

  function decide(decision, label) {
    return enqueue(async () => {
      if (!state || !state.item) throw new Error("no row here: move back with \u2190 or export with x");
      const rowId = state.item.row_id;
      render(await call("POST", "/api/decide", { row_id: rowId, decision, label }));
      showError("");
      setText("message", `row ${rowId}: ${decision}${label ? " \u2192 " + label : ""} (saved)`);
    });
  }

  function relabel() {
    const input = $("other-label");
    const label = input.value;
    return enqueue(async () => {
      if (!state || !state.item) throw new Error("no row here");
      const rowId = state.item.row_id;
      try {
        render(await call("POST", "/api/decide", { row_id: rowId, decision: "relabel", label }));
      } catch (err) {
        input.focus();
        throw err;
      }
      input.value = "";
      input.blur();
      showError("");
      setText("message", `row ${rowId}: relabel \u2192 ${label.trim()} (saved)`);
    });
  }

  const actions = {
    accept: () => decide("accept"),
    keep: () => decide("keep"),
    drop: () => decide("drop"),
    other: () => $("other-label").focus(),
    undo: () => enqueue(async () => {
      render(await call("POST", "/api/undo", {}));
      showError("");
      setText("message", "undone");
    }),
    prev: () => enqueue(() => show(Math.max(state.pos - 1, 0))),
    next: () => enqueue(() => show(Math.min(state.pos + 1, state.total))),
    export: () => enqueue(async () => {
      setText("message", "exporting\u2026");
      const result = await call("POST", "/api/export", {});
      showError("");
      setText("message", result.message);
    }),
  };

  const keys = {
    a: "accept", k: "keep", d: "drop", e: "other", u: "undo", x: "export",
    ArrowLeft: "prev", ArrowRight: "next",
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target === $("other-label")) {
      if (event.key === "Escape") $("other-label").blur();
      return;
    }
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    actions[action]();
  });

  document.querySelectorAll("button[data-action]").forEach((button) => {
    button.addEventListener("click", () => {
      button.blur();
      actions[button.dataset.action]();
    });
  });

  $("other-form").addEventListener("submit", (event) => {
    event.preventDefault();
    relabel();
  });

  enqueue(async () => {
    render(await call("GET", "/api/state"));
    document.body.dataset.ready = "1";
  });
})();
