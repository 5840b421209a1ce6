// AI Skin Doctor page: camera → analysis → live overlay → confirmed result card. This module starts the page and
// switches its language; each concern has a module of its own in page/ (state, texts, render, runtime, camera,
// upload, result, history, kiosk). The analysis (quality, localisation, classification, 3-second hold, triage) runs
// either on this device (ondevice/engine.js: the same model and rules in the browser, nothing sent, works offline
// through the service worker) or on the server (camera frames over a WebSocket, uploads by POST, care text reworded
// by the LLM). Every text comes from the server's message tables, so a language switch redraws all of it.
import { params, kiosk, state, $, HISTORY_KEY, HISTORY_ON, RUN_KEY } from "./page/state.js";
import { t, loadTables } from "./page/texts.js";
import { renderStatus, renderNotice, setProgress, drawOverlay } from "./page/render.js";
import { renderRun, useRun } from "./page/runtime.js";
import { startCamera, stopCamera } from "./page/camera.js";
import { renderResult, streamAdvice, startOver } from "./page/result.js";
import { onUpload } from "./page/upload.js";
import { renderSave, saveResult, renderHistory, renderCompare } from "./page/history.js";
import { updateAttract, firstTouch } from "./page/kiosk.js";

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  state.langs.forEach((code) => $(`lang-${code}`)?.setAttribute("aria-pressed", String(state.lang === code)));
  $("start-camera").textContent = state.stream ? t("stopCamera") : t("startCamera");
  $("video").setAttribute("aria-label", t("camera"));
  $("crop").setAttribute("aria-label", t("analysedCrop"));
  document.title = t("title");
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "config", lang: state.lang }));
  renderRun();
  renderStatus();
  renderNotice();
  drawOverlay(state.lastResult);
  renderHistory();
  if (state.lastDiagnosis) {
    if (state.run === "device") {  // the knowledge base's text in the new language, worded here
      const d = state.lastDiagnosis;
      state.lastDiagnosis = { ...d, advice: state.engine.advice(d, state.lang) };
      renderResult(state.lastDiagnosis, true);
    } else {
      renderResult(state.lastDiagnosis, true);  // names, reasons and labels at once; the wording follows
      streamAdvice(state.lastDiagnosis);
    }
  }
}

async function init() {
  if (kiosk) { document.body.classList.add("kiosk"); $("attract").hidden = false; }
  const langButton = (code) => $(`lang-${code}`).addEventListener("click", () => { state.lang = code; applyLanguage(); });
  state.langs.forEach(langButton);
  $("start-camera").addEventListener("click", () => {
    if (state.stream) { stopCamera(); return; }
    if (state.showingResult) startOver();
    startCamera();
  });
  $("upload").addEventListener("change", onUpload);
  $("start-over").addEventListener("click", () => {
    const camera = state.mode === "camera" && !state.stream;  // a result from the camera, which was let go
    startOver();
    if (camera) startCamera();
  });
  $("use-device").addEventListener("click", () => useRun("device", true));
  $("print").addEventListener("click", () => window.print());
  $("save-result").addEventListener("click", saveResult);
  $("spot-name").addEventListener("input", renderCompare);
  $("history-enabled").addEventListener("change", (ev) => {
    localStorage.setItem(HISTORY_ON, ev.target.checked ? "1" : "0");
    renderHistory();
    if (state.lastDiagnosis) renderSave();
  });
  $("history-delete").addEventListener("click", () => {
    localStorage.removeItem(HISTORY_KEY);
    renderHistory();
    renderCompare();
  });
  new ResizeObserver(() => drawOverlay(state.lastResult)).observe($("stage"));  // a window, or the layout beside a result
  if (kiosk) {
    document.addEventListener("pointerdown", firstTouch, { once: true });
    setInterval(updateAttract, 1000);
  }
  try {  // operator defaults (SKINDOCTOR_LANG, SKINDOCTOR_KIOSK_RESET_SECONDS); URL parameters win
    const cfg = await (await fetch("/api/v1/config")).json();
    (cfg.languages || []).filter((l) => !state.langs.includes(l.code)).forEach((l) => {
      const b = document.createElement("button");
      Object.assign(b, { type: "button", id: `lang-${l.code}`, lang: l.code, textContent: l.name });
      document.querySelector(".lang").append(b);
      state.langs = [...state.langs, l.code];
      langButton(l.code);
    });
    const browserLang = (navigator.language || "").slice(0, 2);
    if (!params.get("lang") && !kiosk && state.langs.includes(browserLang)) state.lang = browserLang;
    if (params.get("lang") && state.langs.includes(params.get("lang"))) state.lang = params.get("lang");
    if (!params.get("lang") && kiosk) state.lang = cfg.lang;
    if (!params.get("reset")) state.resetSeconds = cfg.kiosk_reset_seconds;
  } catch (err) { /* keep the page's defaults */ }
  await loadTables();
  try { state.bundle = await (await fetch("/api/v1/ondevice")).json(); } catch (err) { state.bundle = null; }
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("offline use unavailable:", err));
  }
  $("run-mode").addEventListener("click", () => useRun(state.run === "device" ? "server" : "device", true));
  const asked = params.get("run") || localStorage.getItem(RUN_KEY);
  useRun(asked === "server" ? "server" : "device", false);  // on this device whenever the browser can
  try {
    const card = await (await fetch("/api/v1/model")).json();
    state.model = { name: card.name, variant: card.variant, version: card.software_version };
    $("model-info").textContent = `${card.name} (${card.variant})`;
  } catch (err) { /* the page still works without the model's name */ }
  applyLanguage();
  setProgress(0);
  if (kiosk) { startCamera(); updateAttract(); }
}
window.skindoctorEngineStats = () => (state.engine ? { ...state.engine.stats } : null);  // for the page's checks
document.addEventListener("DOMContentLoaded", init);
