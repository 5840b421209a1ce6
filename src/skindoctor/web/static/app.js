// AI Skin Doctor page: camera → WebSocket → live overlay → confirmed result card (+ streamed LLM wording).
// All model logic (quality, localisation, classification, 3-second hold, triage) runs on the server.
"use strict";

const UI = {
  en: {
    title: "AI Skin Doctor", camera: "Camera", placeholder: "Start the camera, or upload a photo.",
    hold: "Hold steady", startCamera: "Start camera", stopCamera: "Stop camera", upload: "Upload a photo",
    care: "How to care for it", warning: "Warning signs — see a doctor if", startOver: "Start over",
    disclaimer: "A decision aid, not a medical device or a diagnosis. If you are worried about a spot, see a doctor.",
    api: "API", connecting: "Connecting…", noCamera: "No camera available or permission denied — upload a photo instead.",
    analysing: "Analysing photo…", confidence: "Model confidence", heldFor: "held steady for",
    sourceKb: "Wording: our curated knowledge base", sourceLlm: "Wording: local language model",
    llmWriting: "The language model is rewording this…", resetIn: "Starting over in", seconds: "s",
    connectionLost: "Connection lost — reconnecting…", busy: "The kiosk is busy — retrying shortly…",
    uploadFailed: "That file could not be analysed", pointCamera: "Point the camera at the skin spot",
  },
  ko: {
    title: "AI 피부 닥터", camera: "카메라", placeholder: "카메라를 켜거나 사진을 올려 주세요.",
    hold: "움직이지 마세요", startCamera: "카메라 켜기", stopCamera: "카메라 끄기", upload: "사진 올리기",
    care: "관리 방법", warning: "경고 징후 — 이런 경우 진료를 받으세요", startOver: "다시 시작",
    disclaimer: "판단을 돕는 참고 도구이며 의료기기나 진단이 아닙니다. 걱정되는 점이 있다면 의사의 진료를 받으세요.",
    api: "API", connecting: "연결 중…", noCamera: "카메라가 없거나 권한이 거부되었습니다 — 사진을 올려 주세요.",
    analysing: "사진 분석 중…", confidence: "모델 확신도", heldFor: "유지 시간",
    sourceKb: "안내문 출처: 자체 검수 지식 베이스", sourceLlm: "안내문 출처: 로컬 언어 모델",
    llmWriting: "언어 모델이 안내문을 다듬는 중…", resetIn: "다시 시작까지", seconds: "초",
    connectionLost: "연결이 끊겼습니다 — 다시 연결 중…", busy: "사용 중입니다 — 잠시 후 다시 시도합니다…",
    uploadFailed: "이 파일은 분석할 수 없습니다", pointCamera: "카메라를 피부 병변에 맞춰 주세요",
  },
};

const params = new URLSearchParams(location.search);
const kiosk = location.pathname.replace(/\/$/, "") === "/kiosk" || params.get("kiosk") === "1";
const state = {
  lang: ["en", "ko"].includes(params.get("lang")) ? params.get("lang") : (navigator.language || "").startsWith("ko") ? "ko" : "en",
  resetSeconds: Math.max(5, Number(params.get("reset")) || 30),
  hold: Number(params.get("hold")) || null,  // null: the server's setting
  stream: null, ws: null, inFlight: false, showingResult: false, lastResult: null, lastDiagnosis: null,
  frameTimer: null, resetTimer: null, countdownTimer: null, reconnectDelay: 1000, adviceAbort: null,
};
const $ = (id) => document.getElementById(id);
const t = (key) => UI[state.lang][key] || UI.en[key] || key;

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang-en").setAttribute("aria-pressed", String(state.lang === "en"));
  $("lang-ko").setAttribute("aria-pressed", String(state.lang === "ko"));
  $("start-camera").textContent = state.stream ? t("stopCamera") : t("startCamera");
  document.title = t("title");
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "config", lang: state.lang }));
  if (state.lastDiagnosis) streamAdvice(state.lastDiagnosis.probabilities);  // the card in the new language
}

function setStatus(text) { $("status").textContent = text || ""; }

function setProgress(p) {
  const circle = $("ring-progress");
  const len = 2 * Math.PI * 44;
  circle.style.strokeDasharray = `${len}`;
  circle.style.strokeDashoffset = `${len * (1 - p)}`;
  $("ring-label").textContent = `${Math.round(p * 100)}%`;
  $("hold").setAttribute("aria-valuenow", String(Math.round(p * 100)));
  $("stage").classList.toggle("holding", p > 0 && p < 1);
}

// ---------- camera and live session ----------
async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { cameraUnavailable(); return; }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (err) { cameraUnavailable(); return; }
  const video = $("video");
  video.srcObject = state.stream;
  await video.play().catch(() => {});
  $("placeholder").hidden = true;
  $("start-camera").textContent = t("stopCamera");
  openSocket();
}

function stopCamera() {
  if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
  state.stream = null;
  if (state.ws) state.ws.close();
  state.ws = null;
  clearTimeout(state.frameTimer);
  $("placeholder").hidden = false;
  $("start-camera").textContent = t("startCamera");
  drawOverlay(null);
  setProgress(0);
  setStatus("");
}

function cameraUnavailable() {
  setStatus(t("noCamera"));
  $("upload-label").classList.add("primary");
  $("upload-label").focus();
}

function openSocket() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const q = new URLSearchParams({ lang: state.lang });
  if (state.hold) q.set("hold", String(state.hold));
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/live?${q}`);
  state.ws = ws;
  state.inFlight = false;
  setStatus(t("connecting"));
  ws.onopen = () => { state.reconnectDelay = 1000; setStatus(t("pointCamera")); scheduleFrame(0); };
  ws.onmessage = (ev) => onLiveMessage(JSON.parse(ev.data));
  ws.onclose = (ev) => {
    if (state.ws !== ws || !state.stream) return;
    setStatus(ev.code === 1006 ? t("busy") : t("connectionLost"));
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 15000);
    setTimeout(() => { if (state.stream && state.ws === ws) openSocket(); }, state.reconnectDelay);
  };
}

function scheduleFrame(delay) {
  clearTimeout(state.frameTimer);
  state.frameTimer = setTimeout(sendFrame, delay);
}

const grab = document.createElement("canvas");
function sendFrame() {
  const video = $("video");
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || state.inFlight || state.showingResult) return;
  if (!video.videoWidth) { scheduleFrame(100); return; }
  const scale = Math.min(1, 640 / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  state.inFlight = true;
  grab.toBlob((blob) => {
    if (!blob || ws.readyState !== WebSocket.OPEN) { state.inFlight = false; scheduleFrame(200); return; }
    ws.send(blob);
  }, "image/jpeg", 0.8);
}

function onLiveMessage(msg) {
  if (msg.type === "frame" || msg.type === "skipped" || msg.type === "error") state.inFlight = false;
  if (msg.type === "frame") {
    state.lastResult = msg;
    drawOverlay(msg);
    setProgress(msg.hold.progress);
    if (!msg.quality.ok) setStatus(msg.quality.message);
    else setStatus(`${className(msg.top_class)} · ${Math.round(msg.confidence * 100)}% — ${msg.quality.message}`);
    if (msg.diagnosis) { showDiagnosis(msg.diagnosis); return; }
  }
  if (msg.type === "error") setStatus(msg.message);
  if (!state.showingResult) scheduleFrame(msg.type === "skipped" ? 60 : 30);
}

let classNames = {};
function className(code) {
  const info = classNames[code];
  return info ? (state.lang === "ko" ? info.name_ko : info.name_en) : code;
}

function drawOverlay(msg) {
  const canvas = $("overlay");
  const video = $("video");
  const rect = video.getBoundingClientRect();
  canvas.width = rect.width;
  canvas.height = rect.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!msg || !msg.box || !msg.width) { $("live-label").textContent = ""; return; }
  // the video is shown with object-fit: cover — map frame pixels to screen pixels the same way
  const s = Math.max(rect.width / msg.width, rect.height / msg.height);
  const ox = (rect.width - msg.width * s) / 2, oy = (rect.height - msg.height * s) / 2;
  const [x0, y0, x1, y1] = msg.box;
  ctx.lineWidth = 4;
  ctx.strokeStyle = msg.top_class ? "#2ecc71" : "#f39c12";
  ctx.strokeRect(ox + x0 * s, oy + y0 * s, (x1 - x0) * s, (y1 - y0) * s);
  $("live-label").textContent = msg.top_class ? `${className(msg.top_class)} ${Math.round(msg.confidence * 100)}%` : "";
}

// ---------- result card ----------
function showDiagnosis(diagnosis) {
  state.lastDiagnosis = diagnosis;
  renderResult(diagnosis, false);
  streamAdvice(diagnosis.probabilities);
}

function renderResult(d, refresh) {
  const a = d.advice;
  state.showingResult = true;
  $("result").hidden = false;
  $("live").classList.add("done");
  const banner = $("banner");
  banner.className = `banner urgency-${a.uncertain ? "weeks" : a.urgency}`;
  banner.textContent = a.urgency_label;
  $("result-name").textContent = a.name;
  const pct = Math.round((d.confidence ?? 0) * 100);
  $("result-confidence").textContent = `${t("confidence")}: ${pct}%` + (d.held_seconds ? ` · ${t("heldFor")} ${d.held_seconds.toFixed(1)} ${t("seconds")}` : "");
  $("result-description").textContent = a.description;
  fillList("result-care", a.care);
  fillList("result-warning", a.warning_signs);
  $("result-see-doctor").textContent = a.see_doctor;
  $("result-source").textContent = a.source === "llm" ? `${t("sourceLlm")} (${a.llm_model})` : t("sourceKb");
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  $("start-over").focus({ preventScroll: true });
  if (kiosk && !refresh) startResetCountdown();
}

function fillList(id, items) {
  const ul = $(id);
  ul.replaceChildren(...(items || []).map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
}

async function streamAdvice(probabilities) {
  if (state.adviceAbort) state.adviceAbort.abort();
  const abort = new AbortController();
  state.adviceAbort = abort;
  const lang = state.lang;
  try {
    const res = await fetch("/api/v1/advice", {
      method: "POST", headers: { "Content-Type": "application/json" }, signal: abort.signal,
      body: JSON.stringify({ probabilities, lang, llm: true }),
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
  } catch (err) { /* aborted or offline: the knowledge-base text is already shown */ }
}

function startResetCountdown() {
  clearInterval(state.countdownTimer);
  let left = state.resetSeconds;
  const tick = () => {
    $("reset-countdown").textContent = `${t("resetIn")} ${left} ${t("seconds")}`;
    if (left-- <= 0) startOver();
  };
  tick();
  state.countdownTimer = setInterval(tick, 1000);
}

function startOver() {
  clearInterval(state.countdownTimer);
  if (state.adviceAbort) state.adviceAbort.abort();
  $("reset-countdown").textContent = "";
  $("result").hidden = true;
  $("live").classList.remove("done");
  state.showingResult = false;
  state.lastDiagnosis = null;
  setProgress(0);
  drawOverlay(null);
  setStatus(state.stream ? t("pointCamera") : "");
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: "reset" }));
    state.inFlight = false;
    scheduleFrame(0);
  }
  $("start-camera").focus({ preventScroll: true });
}

// ---------- upload fallback ----------
async function onUpload(ev) {
  const file = ev.target.files && ev.target.files[0];
  ev.target.value = "";
  if (!file) return;
  setStatus(t("analysing"));
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const res = await fetch(`/api/v1/diagnose?lang=${state.lang}`, { method: "POST", body: form });
    const body = await res.json();
    if (!res.ok) { setStatus(`${t("uploadFailed")}: ${body.detail || res.status}`); return; }
    if (!body.quality.ok) { setStatus(body.quality.message); return; }
    setStatus("");
    showDiagnosis({ code: body.top_class, confidence: body.confidence, probabilities: body.probabilities, advice: body.advice });
  } catch (err) { setStatus(t("uploadFailed")); }
}

// ---------- start ----------
async function init() {
  if (kiosk) document.body.classList.add("kiosk");
  $("lang-en").addEventListener("click", () => { state.lang = "en"; applyLanguage(); });
  $("lang-ko").addEventListener("click", () => { state.lang = "ko"; applyLanguage(); });
  $("start-camera").addEventListener("click", () => (state.stream ? stopCamera() : startCamera()));
  $("upload").addEventListener("change", onUpload);
  $("start-over").addEventListener("click", startOver);
  window.addEventListener("resize", () => drawOverlay(state.lastResult));
  try {  // operator defaults (SKINDOCTOR_LANG, SKINDOCTOR_KIOSK_RESET_SECONDS); URL parameters win
    const cfg = await (await fetch("/api/v1/config")).json();
    if (!params.get("lang") && kiosk) state.lang = cfg.lang;
    if (!params.get("reset")) state.resetSeconds = cfg.kiosk_reset_seconds;
  } catch (err) { /* keep the page's defaults */ }
  applyLanguage();
  setProgress(0);
  try {
    const card = await (await fetch("/api/v1/model")).json();
    card.class_info.forEach((c) => { classNames[c.code] = c; });
    $("model-info").textContent = `${card.name} (${card.variant})`;
  } catch (err) { /* the page still works; names fall back to codes */ }
  if (kiosk) startCamera();
}
document.addEventListener("DOMContentLoaded", init);
