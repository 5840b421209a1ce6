// Opt-in history, kept only in this browser's storage (never in the kiosk).
import { kiosk, state, $, HISTORY_KEY, HISTORY_ON } from "./state.js";
import { t, plainName, urgencyLabel } from "./texts.js";
import { shownConfidence } from "./result.js";

export function historyEnabled() { return !kiosk && localStorage.getItem(HISTORY_ON) === "1"; }

export function readHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch (err) { return []; }
}

export function renderSave() {
  const on = historyEnabled();
  $("save-block").hidden = !on;
  const spots = [...new Set(readHistory().map((e) => e.spot).filter(Boolean))];
  $("spot-names").replaceChildren(...spots.map((s) => { const o = document.createElement("option"); o.value = s; return o; }));
  renderCompare();
}

export function saveResult() {
  const d = state.lastDiagnosis;
  if (!d || !historyEnabled()) return;
  const thumb = document.createElement("canvas");
  thumb.width = thumb.height = 160;
  if (!$("crop-figure").hidden) thumb.getContext("2d").drawImage($("crop"), 0, 0, 160, 160);
  const entry = {
    id: `${Date.now()}`, spot: $("spot-name").value.trim(), date: (state.analysedAt || new Date()).toISOString(),
    code: d.advice.code, confidence: shownConfidence(d), urgency: d.advice.urgency, uncertain: d.advice.uncertain,
    image: $("crop-figure").hidden ? null : thumb.toDataURL("image/jpeg", 0.8),
  };
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify([entry, ...readHistory()]));
    $("saved-note").textContent = t("saved");
  } catch (err) { $("saved-note").textContent = String(err.message || err); }  // storage full or blocked
  renderHistory();
  renderCompare();
}

export function historyCard(e) {
  const fig = document.createElement("figure");
  fig.className = "history-item";
  if (e.image) { const img = document.createElement("img"); img.src = e.image; img.alt = e.spot || plainName(e.code); fig.append(img); }
  const cap = document.createElement("figcaption");
  const when = new Date(e.date).toLocaleDateString(state.lang === "en" ? "en-GB" : state.lang);
  cap.textContent = `${e.spot ? `${e.spot} · ` : ""}${when} · ${plainName(e.code)} ${Math.round(e.confidence * 100)}%`;
  const urgency = document.createElement("span");
  urgency.className = `history-urgency urgency-${e.uncertain ? "weeks" : e.urgency}`;
  urgency.textContent = urgencyLabel(e.urgency, e.uncertain);
  cap.append(urgency);
  fig.append(cap);
  return fig;
}

export function renderHistory() {
  const section = $("history");
  section.hidden = kiosk;
  $("history-enabled").checked = historyEnabled();
  const items = historyEnabled() ? readHistory() : [];
  const list = $("history-list");
  if (!historyEnabled()) { list.replaceChildren(); $("history-delete").hidden = readHistory().length === 0; return; }
  $("history-delete").hidden = items.length === 0;
  if (!items.length) { const p = document.createElement("p"); p.className = "muted small"; p.textContent = t("historyEmpty"); list.replaceChildren(p); return; }
  list.replaceChildren(...items.map(historyCard));
}

export function renderCompare() {
  const spot = $("spot-name").value.trim();
  const earlier = historyEnabled() && spot ? readHistory().filter((e) => e.spot === spot) : [];
  $("compare").hidden = !earlier.length;
  $("compare-list").replaceChildren(...earlier.map(historyCard));
}
