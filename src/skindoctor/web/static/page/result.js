// The result card, its care text (reworded by the server's LLM in server mode), the printed summary, start over.
import { kiosk, state, $ } from "./state.js";
import { t, plainName, termName, termAdds, fullName } from "./texts.js";
import { setStatus, setNotice, setProgress, drawOverlay } from "./render.js";
import { scheduleFrame, freezeCamera } from "./camera.js";
import { showPhoto } from "./upload.js";
import { renderSave } from "./history.js";
import { updateAttract, startResetCountdown } from "./kiosk.js";

/** The probability of the class the card names (the advice's): a live result's hold may have been led by another
 * class of the same outcome. */
export const shownConfidence = (d) => d.probabilities?.[d.advice.code] ?? d.confidence ?? 0;

export function showDiagnosis(diagnosis) {
  drawCrop(diagnosis);
  state.lastDiagnosis = diagnosis;
  state.analysedAt = diagnosis.when || new Date();
  if (state.mode === "camera") setStatus({ key: "confirmed" });
  setNotice(null);
  renderResult(diagnosis, false);
  if (state.mode === "camera" && !kiosk) freezeCamera();  // the kiosk's camera waits for the next person
  if (state.run === "server") streamAdvice(diagnosis);  // on this device: the knowledge base's text, nothing sent
}

export function drawCrop(d) {
  const crop = $("crop"), ctx = crop.getContext("2d");
  ctx.clearRect(0, 0, crop.width, crop.height);
  const src = d.source;
  const b = d.crop_box;
  $("crop-figure").hidden = !(src && b);
  if (src && b) ctx.drawImage(src, b[0], b[1], b[2] - b[0], b[3] - b[1], 0, 0, crop.width, crop.height);
}

export function renderResult(d, refresh) {
  const a = d.advice;
  state.showingResult = true;
  $("result").hidden = false;
  $("live").classList.add("done");
  $("attract").hidden = true;
  const banner = $("banner");
  banner.className = `banner urgency-${a.uncertain ? "weeks" : a.urgency}`;
  banner.textContent = a.urgency_label;
  $("result-name").textContent = a.plain_name || a.name;
  $("result-term").textContent = termAdds(a.plain_name, a.name) ? `${t("termLabel")}: ${a.name}` : "";
  const pct = Math.round(shownConfidence(d) * 100);
  $("result-confidence").textContent = `${t("confidence")}: ${pct}%` + (d.held_seconds ? ` · ${t("heldFor")} ${d.held_seconds.toFixed(1)} ${t("seconds")}` : "");
  const candidates = a.candidates || [];
  $("result-candidates").hidden = candidates.length < 2;
  $("result-candidates").textContent = candidates.length < 2 ? "" :
    `${t("candidates")}: ${candidates.map((c) => fullName(plainName(c), termName(c))).join(` ${t("or")} `)}`;
  $("result-top3").replaceChildren(...(a.top3 || []).map((c) => {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = fullName(c.plain_name, c.name);
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.setProperty("--p", String(c.probability));
    const value = document.createElement("b");
    value.textContent = `${Math.round(c.probability * 100)}%`;
    li.append(name, bar, value);
    return li;
  }));
  fillList("result-reasons", a.reasons);
  $("result-description").textContent = a.description;
  fillList("result-care", a.care);
  fillList("result-warning", a.warning_signs);
  $("result-see-doctor").textContent = a.see_doctor;
  $("result-source").textContent = (a.source === "llm" ? `${t("sourceLlm")} (${a.llm_model})` : t("sourceKb"))
    + (d.onDevice ? ` · ${t("runDevice")}` : "");
  fillList("result-sources", a.sources);
  const text = [a.appearance, a.description, ...(a.care || []), ...(a.warning_signs || [])].join(" ");
  $("glossary").hidden = !text.includes("ABCDE");
  $("glossary-text").textContent = t("ABCDE");
  renderSave();
  renderSummary(d);
  if (!refresh) {
    if (kiosk) { window.scrollTo(0, 0); startResetCountdown(); }
    else $("result").scrollIntoView({ behavior: "smooth", block: "start" });
    $("start-over").focus({ preventScroll: true });
  }
}

export function fillList(id, items) {
  const ul = $(id);
  ul.replaceChildren(...(items || []).map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
}

export async function streamAdvice(diagnosis) {
  if (state.adviceAbort) state.adviceAbort.abort();
  const abort = new AbortController();
  state.adviceAbort = abort;
  const lang = state.lang;
  try {
    const res = await fetch("/api/v1/advice", {
      method: "POST", headers: { "Content-Type": "application/json" }, signal: abort.signal,
      body: JSON.stringify({ probabilities: diagnosis.probabilities, candidates: diagnosis.candidates || [], lang, llm: true }),
    });
    if (!res.ok || !res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", streamed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line);
        if (ev.type === "llm_delta" && !streamed) { streamed = true; $("result-source").textContent = t("llmWriting"); }
        if (ev.type === "advice" && state.lastDiagnosis && lang === state.lang && (ev.final || !streamed)) {
          state.lastDiagnosis = { ...state.lastDiagnosis, advice: ev.advice };
          renderResult(state.lastDiagnosis, true);
        }
      }
    }
  } catch (err) {  // superseded (start over, language switch) or offline: the knowledge-base text is already shown
    if (err.name !== "AbortError") console.error("advice stream:", err);
  }
}

export function renderSummary(d) {
  const a = d.advice;
  $("ps-title").textContent = t("summaryTitle");
  $("ps-date-label").textContent = t("date");
  $("ps-date").textContent = (state.analysedAt || new Date()).toLocaleString(state.lang === "en" ? "en-GB" : state.lang);
  $("ps-result-label").textContent = t("result");
  $("ps-result").textContent = `${fullName(a.plain_name, a.name)} · ${t("confidence")} ${Math.round(shownConfidence(d) * 100)}%`;
  $("ps-urgency-label").textContent = t("urgency");
  $("ps-urgency").textContent = a.urgency_label;
  $("ps-top3-label").textContent = t("top3");
  fillList("ps-top3", (a.top3 || []).map((c) => `${fullName(c.plain_name, c.name)} ${Math.round(c.probability * 100)}%`));
  $("ps-why-label").textContent = t("why");
  fillList("ps-reasons", a.reasons);
  $("ps-model-label").textContent = t("model");
  $("ps-model").textContent = state.model ? `${state.model.name} (${state.model.variant}), skindoctor ${state.model.version || ""}`.trim() : "";
  $("ps-disclaimer").textContent = a.disclaimer;
  const crop = $("crop");
  if (!$("crop-figure").hidden) $("ps-crop").src = crop.toDataURL("image/jpeg", 0.9);
  $("ps-crop").hidden = $("crop-figure").hidden;
}

export function startOver() {
  clearInterval(state.countdownTimer);
  if (state.adviceAbort) state.adviceAbort.abort();
  state.adviceAbort = null;
  $("reset-countdown").textContent = "";
  $("result").hidden = true;
  $("compare").hidden = true;
  $("saved-note").textContent = "";
  $("live").classList.remove("done");
  state.showingResult = false;
  state.lastDiagnosis = null;
  state.lastResult = null;
  setProgress(0);
  setNotice(null);
  showPhoto(null);
  drawOverlay(null);
  setStatus(state.stream ? { key: "pointCamera" } : null);
  window.scrollTo(0, 0);
  state.lastLesionAt = performance.now();
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: "reset" }));
    state.inFlight = false;
    scheduleFrame(0);
  }
  if (state.run === "device" && state.engine) {
    state.engine.reset();
    state.inFlight = false;
    if (state.stream) scheduleFrame(0);
  }
  updateAttract();
  $("start-camera").focus({ preventScroll: true });
}
