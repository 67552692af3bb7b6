"""The review page: one self-contained HTML document with inline CSS and script, no external requests.

The server fills in ``__NONCE__`` (the Content-Security-Policy nonce of the
inline style and script) and ``__TOKEN__`` (the session token that every API
request must carry). Text from the workspace is only ever inserted with
``textContent``, never parsed as HTML.
"""

from __future__ import annotations

import html

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="review-token" content="__TOKEN__">
<link rel="icon" href="data:,">
<title>Shochu review</title>
<style nonce="__NONCE__">
  :root { --accept: #1b7f3b; --reject: #b42318; --edit: #8a5a00; --line: #d0d5dd; --muted: #667085; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, "Noto Sans JP", "IPAGothic", "Noto Sans Thai", sans-serif;
         color: #101828; background: #f5f6f8; }
  header { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid var(--line);
           padding: 10px 20px; display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  #progress, #gate { font-weight: 600; }
  #gate.pass { color: var(--accept); } #gate.fail { color: var(--reject); }
  #status { color: var(--muted); min-height: 1.5em; }
  #status.error { color: var(--reject); font-weight: 600; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 410px; gap: 20px; padding: 20px;
         max-width: 1500px; margin: auto; }
  @media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
  aside { position: sticky; top: 70px; align-self: start; background: #fff; border: 1px solid var(--line);
          border-radius: 8px; padding: 12px; overflow-x: auto; }
  aside h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: right; padding: 3px 5px; border-bottom: 1px solid #eaecf0; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  tr.below td { color: var(--reject); font-weight: 600; }
  .keys { color: var(--muted); font-size: 13px; margin-top: 12px; }
  kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; background: #f9fafb; font-size: 12px; }
  .card { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--line);
          border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
  .card.current { outline: 3px solid #84adff; }
  .card[data-decision="accept"] { border-left-color: var(--accept); }
  .card[data-decision="reject"] { border-left-color: var(--reject); }
  .card[data-decision="edit"] { border-left-color: var(--edit); }
  .meta { display: flex; flex-wrap: wrap; gap: 6px 14px; color: var(--muted); font-size: 13px; }
  .badge { font-weight: 700; font-size: 13px; }
  .badge.accept { color: var(--accept); } .badge.reject { color: var(--reject); } .badge.edit { color: var(--edit); }
  h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 12px 0 4px; }
  .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-family: inherit; }
  .source { max-height: 16em; overflow: auto; background: #f9fafb; border: 1px solid #eaecf0;
            border-radius: 6px; padding: 8px 10px; font-size: 14px; }
  .response { background: #f4f8ff; border-radius: 6px; padding: 8px 10px; }
  mark { background: #fff1c2; color: #7a4b00; border-radius: 3px; padding: 0 2px; font-weight: 600; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
  button { font: inherit; border: 1px solid var(--line); border-radius: 6px; padding: 5px 14px;
           background: #fff; cursor: pointer; }
  button:hover { background: #f2f4f7; }
  button.accept { border-color: var(--accept); color: var(--accept); }
  button.reject { border-color: var(--reject); color: var(--reject); }
  button.edit { border-color: var(--edit); color: var(--edit); }
  .panel { display: none; margin-top: 10px; gap: 8px; flex-direction: column; }
  .panel.open { display: flex; }
  .panel input, .panel textarea { font: inherit; width: 100%; padding: 6px 8px; border: 1px solid var(--line);
                                  border-radius: 6px; }
  .panel textarea { min-height: 8em; }
  .empty { color: var(--muted); font-style: italic; }
  label.filter { color: var(--muted); font-size: 14px; }
</style>
</head>
<body>
<header>
  <h1>Shochu review</h1>
  <span id="progress">loading...</span>
  <span id="gate"></span>
  <label class="filter"><input type="checkbox" id="hide-decided"> hide decided</label>
  <span id="status" role="status" aria-live="polite"></span>
</header>
<main>
  <section id="cards" aria-label="Sampled examples"></section>
  <aside>
    <h2>Acceptance per stratum</h2>
    <table id="strata">
      <thead><tr><th>stratum</th><th>reviewed</th><th>ok</th><th>edit</th><th>rej</th><th>accepted</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="keys">
      <kbd>j</kbd>/<kbd>k</kbd> next/previous &middot; <kbd>a</kbd> accept &middot; <kbd>r</kbd> reject &middot;
      <kbd>e</kbd> edit &middot; <kbd>Ctrl</kbd>+<kbd>Enter</kbd> save &middot; <kbd>Esc</kbd> cancel.
      Placeholders such as <mark>[PERSON_1]</mark> stand for masked personal data.
    </p>
  </aside>
</main>
<script nonce="__NONCE__">
"use strict";
const TOKEN = document.querySelector('meta[name="review-token"]').content;
const PLACEHOLDER = /(\\[[A-Z][A-Z0-9_]*_\\d+\\]|<[A-Z][A-Z0-9_]*_\\d+>|\\[REDACTED\\])/;
const state = { cards: [], decisions: {}, current: 0 };

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", "X-Review-Token": TOKEN },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "same-origin",
  });
  const data = await response.json();
  if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
  return data;
}

function showStatus(message, isError) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = isError ? "error" : "";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

// Text with PII placeholders highlighted; every piece is inserted as text, never as HTML.
function textWithPlaceholders(tag, className, text) {
  const node = element(tag, className);
  if (!text) { node.append(element("span", "empty", "(none)")); return node; }
  text.split(PLACEHOLDER).forEach((piece, index) => {
    if (!piece) { return; }
    node.append(index % 2 === 1 ? element("mark", "", piece) : document.createTextNode(piece));
  });
  return node;
}

function renderCard(card, index) {
  const article = element("article", "card");
  article.id = "card-" + index;
  article.dataset.id = card.id;
  article.dataset.index = String(index);
  article.tabIndex = -1;

  const meta = element("div", "meta");
  meta.append(element("strong", "", "#" + (index + 1)), element("span", "", card.stratum),
              element("span", "", "split: " + card.split), element("span", "", "document: " + card.doc_id));
  meta.append(element("span", "badge"));
  article.append(meta);

  article.append(element("h3", "", "Source" + (card.heading ? ": " + card.heading : "")));
  article.append(textWithPlaceholders("pre", "text source", card.source));
  if (card.system) {
    article.append(element("h3", "", "System"), textWithPlaceholders("pre", "text", card.system));
  }
  article.append(element("h3", "", "Instruction"), textWithPlaceholders("pre", "text", card.instruction));
  article.append(element("h3", "", "Response"), textWithPlaceholders("pre", "text response", card.response));
  const edited = element("div", "edited");
  article.append(edited);

  const actions = element("div", "actions");
  for (const [action, label] of [["accept", "Accept (a)"], ["reject", "Reject (r)"], ["edit", "Edit (e)"]]) {
    const button = element("button", action, label);
    button.type = "button";
    button.dataset.action = action;
    button.addEventListener("click", () => { select(index); startAction(action); });
    actions.append(button);
  }
  article.append(actions);

  const rejectPanel = element("div", "panel reject-panel");
  const reason = element("input", "reason");
  reason.placeholder = "Why is this example wrong? (required)";
  reason.setAttribute("aria-label", "Reason for rejecting");
  const confirmReject = element("button", "reject confirm-reject", "Confirm reject");
  confirmReject.type = "button";
  confirmReject.addEventListener("click", () => submitReject(index));
  rejectPanel.append(reason, confirmReject);

  const editPanel = element("div", "panel edit-panel");
  const editor = element("textarea", "editor");
  editor.setAttribute("aria-label", "Corrected response");
  const editReason = element("input", "edit-reason");
  editReason.placeholder = "What did you change? (optional)";
  editReason.setAttribute("aria-label", "Reason for the edit");
  const saveEdit = element("button", "edit save-edit", "Save edit");
  saveEdit.type = "button";
  saveEdit.addEventListener("click", () => submitEdit(index));
  editPanel.append(editor, editReason, saveEdit);
  article.append(rejectPanel, editPanel);

  article.addEventListener("click", () => select(index));
  return article;
}

function updateCard(index) {
  const card = state.cards[index];
  const article = document.getElementById("card-" + index);
  const decision = state.decisions[card.id];
  article.dataset.decision = decision ? decision.decision : "";
  const badge = article.querySelector(".badge");
  const labels = { accept: "accepted", reject: "rejected", edit: "edited" };
  badge.textContent = decision ? labels[decision.decision] + (decision.reason ? ": " + decision.reason : "") : "";
  badge.className = "badge " + (decision ? decision.decision : "");
  const edited = article.querySelector(".edited");
  edited.replaceChildren();
  if (decision && decision.decision === "edit") {
    edited.append(element("h3", "", "Edited response"), textWithPlaceholders("pre", "text response", decision.response));
  }
  const hide = document.getElementById("hide-decided").checked;
  article.hidden = hide && Boolean(decision) && index !== state.current;
}

function renderSummary(summary) {
  const overall = summary.overall;
  document.getElementById("progress").textContent = overall.decided + " / " + overall.sampled + " reviewed";
  const gate = document.getElementById("gate");
  const threshold = Math.round(summary.min_acceptance * 100) + "%";
  gate.textContent = (summary.passed ? "gate passes" : "gate fails") + " (min. acceptance " + threshold + ")";
  gate.className = summary.passed ? "pass" : "fail";
  gate.title = summary.reasons.join("\\n");
  const body = document.querySelector("#strata tbody");
  body.replaceChildren();
  const rows = Object.entries(summary.strata).concat([["all", overall]]);
  for (const [name, counts] of rows) {
    const row = element("tr");
    row.dataset.stratum = name;
    const rate = counts.acceptance === null ? "-" : Math.round(counts.acceptance * 100) + "%";
    for (const value of [name, counts.decided + "/" + counts.sampled, counts.accepted, counts.edited, counts.rejected, rate]) {
      row.append(element("td", "", String(value)));
    }
    if (counts.acceptance !== null && counts.acceptance < summary.min_acceptance) { row.className = "below"; }
    body.append(row);
  }
}

function select(index) {
  if (index < 0 || index >= state.cards.length) { return; }
  const previous = document.getElementById("card-" + state.current);
  if (previous) { previous.classList.remove("current"); }
  state.current = index;
  const article = document.getElementById("card-" + index);
  article.classList.add("current");
  article.hidden = false;
}

function closePanels(article) {
  article.querySelectorAll(".panel").forEach((panel) => panel.classList.remove("open"));
}

function startAction(action) {
  const index = state.current;
  const article = document.getElementById("card-" + index);
  closePanels(article);
  if (action === "accept") { decide(index, { decision: "accept" }); return; }
  const panel = article.querySelector(action === "reject" ? ".reject-panel" : ".edit-panel");
  panel.classList.add("open");
  if (action === "edit") {
    const editor = panel.querySelector(".editor");
    const decision = state.decisions[state.cards[index].id];
    editor.value = decision && decision.decision === "edit" ? decision.response : state.cards[index].response;
    editor.focus();
  } else {
    panel.querySelector(".reason").focus();
  }
}

function submitReject(index) {
  const article = document.getElementById("card-" + index);
  const reason = article.querySelector(".reason").value.trim();
  if (!reason) { showStatus("Give a reason for rejecting this example.", true); return; }
  decide(index, { decision: "reject", reason: reason });
}

function submitEdit(index) {
  const article = document.getElementById("card-" + index);
  decide(index, { decision: "edit", response: article.querySelector(".editor").value,
                  reason: article.querySelector(".edit-reason").value.trim() });
}

async function decide(index, decision) {
  const card = state.cards[index];
  try {
    const result = await api("/api/decisions", Object.assign({ id: card.id }, decision));
    state.decisions[card.id] = result.saved;
    closePanels(document.getElementById("card-" + index));
    updateCard(index);
    renderSummary(result.summary);
    showStatus("Saved: " + card.id + " " + result.saved.decision + ".", false);
    const next = state.cards.findIndex((other, position) => position > index && !state.decisions[other.id]);
    if (next >= 0) {
      select(next);
      document.getElementById("card-" + next).scrollIntoView({ block: "nearest" });
    }
  } catch (error) {
    showStatus("Not saved: " + error.message, true);
  }
}

document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  const article = document.getElementById("card-" + state.current);
  if (event.key === "Escape") { closePanels(article); document.activeElement.blur(); return; }
  if (typing) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey || event.target.classList.contains("reason"))) {
      event.preventDefault();
      if (event.target.closest(".edit-panel")) { submitEdit(state.current); } else { submitReject(state.current); }
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
  if (event.key in moves) {
    event.preventDefault();
    select(state.current + moves[event.key]);
    document.getElementById("card-" + state.current).scrollIntoView({ block: "nearest" });
  } else if (event.key === "a" || event.key === "r" || event.key === "e") {
    event.preventDefault();
    startAction({ a: "accept", r: "reject", e: "edit" }[event.key]);
  }
});

document.getElementById("hide-decided").addEventListener("change", () => {
  state.cards.forEach((card, index) => updateCard(index));
});

async function load() {
  try {
    const data = await api("/api/state");
    state.cards = data.cards;
    state.decisions = data.decisions;
    const container = document.getElementById("cards");
    container.replaceChildren(...state.cards.map(renderCard));
    state.cards.forEach((card, index) => updateCard(index));
    renderSummary(data.summary);
    const first = state.cards.findIndex((card) => !state.decisions[card.id]);
    select(first >= 0 ? first : 0);
    showStatus(state.cards.length + " examples in the sample.", false);
  } catch (error) {
    showStatus("Could not load the sample: " + error.message, true);
  }
}
load();
</script>
</body>
</html>
"""


def render_page(token: str, nonce: str) -> str:
    """Return the page with the session token and the CSP nonce filled in."""
    return PAGE_TEMPLATE.replace("__NONCE__", html.escape(nonce)).replace("__TOKEN__", html.escape(token))
