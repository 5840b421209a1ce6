// AI Skin Doctor page: camera → analysis → live overlay → confirmed result card.
// The analysis (quality, localisation, classification, 3-second hold, triage) runs either on this device
// (ondevice/engine.js: the same model and rules in the browser, nothing sent, works offline through the service
// worker) or on the server (camera frames over a WebSocket, uploads by POST, care text reworded by the LLM).
// On-device is chosen when the browser can run it; the header's button switches. Every text comes from the
// server's message tables (/api/v1/messages/{lang}, kept offline), so a language switch redraws all of it.
"use strict";

const params = new URLSearchParams(location.search);
const kiosk = location.pathname.replace(/\/$/, "") === "/kiosk" || params.get("kiosk") === "1";
let LANGS = ["en", "ko"];  // the page's own buttons; a language with a message file on the server is added at start
const HISTORY_KEY = "skindoctor.history.v1", HISTORY_ON = "skindoctor.history.enabled", RUN_KEY = "skindoctor.run";
const state = {
  lang: LANGS.includes(params.get("lang")) ? params.get("lang") : (navigator.language || "").startsWith("ko") ? "ko" : "en",
  resetSeconds: Math.max(5, Number(params.get("reset")) || 30),
  hold: Number(params.get("hold")) || null,  // null: the server's setting
  decide: Number(params.get("decide")) || null,
  tables: {}, model: null,
  stream: null, ws: null, inFlight: false, showingResult: false, lastResult: null, lastDiagnosis: null,
  status: null, notice: null, photo: null, mode: "idle",  // mode: idle | camera | upload
  frameTimer: null, countdownTimer: null, reconnectDelay: 1000, adviceAbort: null, lastLesionAt: 0, analysedAt: null,
  run: "server", bundle: null, engine: null, engineReady: null, lastFrameAt: 0,  // run: where the analysis runs ("device" | "server")
};
const $ = (id) => document.getElementById(id);

// ---------- texts ----------
function lookup(table, key) {
  return key.split(".").reduce((node, part) => (node && typeof node === "object" ? node[part] : undefined), table);
}
function tr(key, values) {
  const raw = lookup(state.tables[state.lang] || {}, key) ?? lookup(state.tables.en || {}, key) ?? key;
  return typeof raw === "string" ? raw.replace(/\{(\w+)\}/g, (_, k) => (values && k in values ? values[k] : `{${k}}`)) : key;
}
const t = (key) => tr(`ui.${key}`);
function plainName(code) {
  const c = (state.tables[state.lang] || {}).classes?.[code];
  return c ? c.plain_name : code;
}
function termName(code) {
  const c = (state.tables[state.lang] || {}).classes?.[code];
  return c ? c.name : code;
}
// "Mole (Melanocytic nevus)", but "Melanoma (a skin cancer)": the medical term only where it adds something
const termAdds = (plain, term) => !!plain && !plain.toLowerCase().includes(term.toLowerCase());
const fullName = (plain, term) => (termAdds(plain, term) ? `${plain} (${term})` : plain || term);
function urgencyLabel(urgency, uncertain) {  // the knowledge base's words for an urgency level
  return (state.tables[state.lang] || {}).urgency_labels?.[uncertain ? "uncertain" : urgency] || "";
}
async function loadTables() {
  await Promise.all(LANGS.map(async (lang) => {
    try { state.tables[lang] = await (await fetch(`/api/v1/messages/${lang}`)).json(); } catch (err) { /* stays keyed */ }
  }));
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  LANGS.forEach((code) => $(`lang-${code}`)?.setAttribute("aria-pressed", String(state.lang === code)));
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

// ---------- where the analysis runs ----------
function deviceAvailable() { return !!(state.bundle && state.bundle.available && typeof WebAssembly === "object"); }
function renderRun() {
  const button = $("run-mode");
  button.hidden = !state.bundle;
  const here = state.run === "device";
  $("run-label").textContent = here ? t("runDevice") : t("runServer");
  button.classList.toggle("device", here);
  button.disabled = !deviceAvailable();
  const note = here ? t("runDeviceNote") : t("runServerNote");
  button.title = note + (deviceAvailable() ? ` — ${tr("ui.runSwitchTo", { mode: here ? t("runServer") : t("runDevice") })}` : "");
  button.setAttribute("aria-label", button.title);
  $("run-note").textContent = note;
}
async function useRun(run, remember) {
  if (run === "device" && !deviceAvailable()) run = "server";
  const camera = !!state.stream;
  if (camera) stopCamera();
  if (state.showingResult) startOver();
  state.run = run;
  if (remember) localStorage.setItem(RUN_KEY, run);
  renderRun();
  if (run === "device" && !state.engineReady) {
    setStatus({ key: "preparingDevice" });
    state.engineReady = import("/static/ondevice/engine.js")
      .then(({ Engine }) => Engine.create(state.bundle, state.tables, { hold_seconds: state.hold, decide_within: state.decide }))
      .then((engine) => { state.engine = engine; if (state.status?.key === "preparingDevice") setStatus(null); return engine; })
      .catch((err) => {
        console.error("on-device mode:", err);
        state.engineReady = null;
        state.run = "server";
        renderRun();
        setStatus({ key: "deviceFailed" });
        return null;
      });
  }
  if (state.run === "device") await state.engineReady;
  if (camera) startCamera();
}

// status line: kept as what to say, not as text, so it can be said again in another language
function setStatus(status) { state.status = status; renderStatus(); }
function renderStatus() {
  const s = state.status;
  let text = "";
  if (s && s.key) text = t(s.key);
  else if (s && s.quality) text = tr(`${s.context}.${s.quality}`);
  else if (s && s.label) text = `${plainName(s.label)} · ${Math.round(s.confidence * 100)}% — ${tr("quality.ok")}`;
  else if (s && s.text) text = s.text;
  if (s && s.prefix) text = `${t(s.prefix)}: ${text}`;
  $("status").textContent = text;
  $("use-device").hidden = !(s?.key === "serverDown" && state.run === "server" && deviceAvailable());
}
function setNotice(notice) { state.notice = notice; renderNotice(); }
function renderNotice() {
  const n = state.notice, el = $("notice");
  el.hidden = !n;
  if (!n) { el.textContent = ""; return; }
  const [a, b] = (n.rivals || []).map(plainName).concat(["?", "?"]);
  const key = n.reason === "changing" && (n.rivals || []).length < 2 ? "unsure" : n.reason;
  el.textContent = `${tr(`undecided.${key}`, { a, b })} ${tr("undecided.worried")}`;
}

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
  showPhoto(null);
  state.mode = "camera";
  const video = $("video");
  video.srcObject = state.stream;
  await video.play().catch(() => {});
  state.stream.getVideoTracks().forEach((track) => track.addEventListener("ended", cameraLost));
  $("placeholder").hidden = true;
  $("start-camera").textContent = t("stopCamera");
  state.lastLesionAt = performance.now();
  if (state.run === "device") { setStatus({ key: "pointCamera" }); scheduleFrame(0); } else openSocket();
}

function cameraLost() {  // unplugged or taken by another program: say so, keep the page usable
  stopCamera();
  setStatus({ key: kiosk ? "noCameraKiosk" : "noCamera" });
}

function releaseCamera() {  // the camera and the live session let go
  if (state.stream) state.stream.getTracks().forEach((tr_) => tr_.stop());
  state.stream = null;
  if (state.ws) state.ws.close();
  state.ws = null;
  clearTimeout(state.frameTimer);
  $("start-camera").textContent = t("startCamera");
}

function stopCamera() {
  releaseCamera();
  state.mode = "idle";
  $("placeholder").hidden = !!state.photo;
  state.lastResult = null;
  drawOverlay(null);
  setProgress(0);
  setStatus(null);
  setNotice(null);
}

function cameraUnavailable() {
  if (kiosk) { setStatus({ key: "noCameraKiosk" }); return; }  // a kiosk has no upload: staff can help
  setStatus({ key: "noCamera" });
  $("upload-label").classList.add("primary");
  $("upload-label").focus();
}

function openSocket(retry) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const q = new URLSearchParams({ lang: state.lang });
  if (state.hold) q.set("hold", String(state.hold));
  if (state.decide) q.set("decide", String(state.decide));
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/live?${q}`);
  state.ws = ws;
  state.inFlight = false;
  if (!retry) setStatus({ key: "connecting" });  // a retry keeps saying what went wrong
  ws.onopen = () => { state.reconnectDelay = 1000; setStatus({ key: "pointCamera" }); scheduleFrame(0); };
  ws.onmessage = (ev) => onLiveMessage(JSON.parse(ev.data));
  ws.onclose = async (ev) => {
    if (state.ws !== ws || !state.stream) return;
    // refused without an answer: a full server (it still answers /healthz), or none at all
    const up = ev.code !== 1006 || await fetch("/healthz", { cache: "no-store" }).then((r) => r.ok, () => false);
    if (state.ws !== ws || !state.stream) return;
    setStatus({ key: ev.code !== 1006 ? "connectionLost" : up ? "busy" : "serverDown" });
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 15000);
    setTimeout(() => { if (state.stream && state.ws === ws) openSocket(true); }, state.reconnectDelay);
  };
}

function scheduleFrame(delay) {
  clearTimeout(state.frameTimer);
  state.frameTimer = setTimeout(sendFrame, delay);
}

const grab = document.createElement("canvas");   // the frame being analysed
const sent = document.createElement("canvas");   // a copy of it, for the card's crop
function grabFrame(video) {
  const scale = Math.min(1, 640 / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, grab.width, grab.height);
}

async function analyseOnDevice() {  // one camera frame through the browser's pipeline, at most max_rate a second
  const video = $("video");
  if (!state.stream || state.inFlight || state.showingResult || state.run !== "device") return;
  if (!video.videoWidth || !state.engine) { scheduleFrame(100); return; }
  const wait = 1000 / state.bundle.max_rate - (performance.now() - state.lastFrameAt);
  if (wait > 0) { scheduleFrame(wait); return; }
  state.lastFrameAt = performance.now();
  grabFrame(video);
  sent.width = grab.width; sent.height = grab.height;
  sent.getContext("2d").drawImage(grab, 0, 0);
  state.inFlight = true;
  let msg;
  try { msg = await state.engine.process(grab, performance.now() / 1000, state.lang); } catch (err) {
    msg = { type: "error", message: String(err.message || err) };
  }
  if (state.stream && state.run === "device") onLiveMessage(msg);
  else state.inFlight = false;
}

function sendFrame() {
  if (state.run === "device") { analyseOnDevice(); return; }
  const video = $("video");
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || state.inFlight || state.showingResult) return;
  if (!video.videoWidth) { scheduleFrame(100); return; }
  grabFrame(video);
  state.inFlight = true;
  grab.toBlob((blob) => {
    if (!blob || ws.readyState !== WebSocket.OPEN) { state.inFlight = false; scheduleFrame(200); return; }
    sent.width = grab.width; sent.height = grab.height;
    sent.getContext("2d").drawImage(grab, 0, 0);
    ws.send(blob);
  }, "image/jpeg", 0.8);
}

function onLiveMessage(msg) {
  if (msg.type === "frame" || msg.type === "skipped" || msg.type === "error") state.inFlight = false;
  if (msg.type === "frame" && !state.showingResult) {
    state.lastResult = msg;
    drawOverlay(msg);
    setProgress(msg.hold.progress);
    if (msg.box) state.lastLesionAt = performance.now();
    updateAttract();
    const hold = msg.hold;
    if (!msg.quality.ok) setStatus({ quality: msg.quality.reason, context: "quality" });
    else setStatus({ label: hold.candidate || msg.top_class, confidence: hold.confidence ?? msg.confidence });
    setNotice(hold.undecided);
    if (msg.diagnosis) {
      showDiagnosis({ ...msg.diagnosis, source: sent, when: new Date(), onDevice: state.run === "device" });
      return;
    }
  }
  if (msg.type === "error") setStatus({ text: msg.message });
  if (!state.showingResult) scheduleFrame(msg.type === "skipped" ? 60 : 30);
}

// the stage shows the camera, or the uploaded photo; boxes are drawn the way each is fitted on screen
function stageGeometry(w, h) {
  const rect = $("stage").getBoundingClientRect();
  const fit = state.photo || kiosk ? Math.min : Math.max;  // photo and kiosk: contain (all of it); camera: cover
  const s = fit(rect.width / w, rect.height / h);
  return { rect, s, ox: (rect.width - w * s) / 2, oy: (rect.height - h * s) / 2 };
}

function drawOverlay(msg) {
  const canvas = $("overlay");
  const rect = $("stage").getBoundingClientRect();
  canvas.width = rect.width;
  canvas.height = rect.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const label = $("live-label");
  if (!msg || !msg.box || !msg.width) { label.textContent = ""; return; }
  const { s, ox, oy } = stageGeometry(msg.width, msg.height);
  const box = (b, colour, width, dash) => {
    ctx.setLineDash(dash); ctx.lineWidth = width; ctx.strokeStyle = colour;
    ctx.strokeRect(ox + b[0] * s, oy + b[1] * s, (b[2] - b[0]) * s, (b[3] - b[1]) * s);
  };
  if (msg.crop_box) box(msg.crop_box, "rgba(255,255,255,.85)", 2, [8, 6]);
  box(msg.box, msg.top_class ? "#2ecc71" : "#f39c12", 4, []);
  const code = msg.diagnosis ? msg.diagnosis.code : msg.hold?.candidate || msg.top_class;
  const confidence = msg.diagnosis ? msg.diagnosis.confidence : msg.hold?.confidence ?? msg.confidence;
  label.textContent = code && confidence != null ? `${plainName(code)} ${Math.round(confidence * 100)}%` : "";
}

// ---------- result card ----------
function showDiagnosis(diagnosis) {
  drawCrop(diagnosis);
  state.lastDiagnosis = diagnosis;
  state.analysedAt = diagnosis.when || new Date();
  if (state.mode === "camera") setStatus({ key: "confirmed" });
  setNotice(null);
  renderResult(diagnosis, false);
  if (state.mode === "camera" && !kiosk) freezeCamera();  // the kiosk's camera waits for the next person
  if (state.run === "server") streamAdvice(diagnosis);  // on this device: the knowledge base's text, nothing sent
}

function freezeCamera() {  // the analysed frame stays on the stage as a still, with its box; the camera is let go
  const still = new Image();
  still.src = sent.toDataURL("image/jpeg", 0.9);
  releaseCamera();
  showPhoto(still);
  drawOverlay(state.lastResult);
}

function drawCrop(d) {
  const crop = $("crop"), ctx = crop.getContext("2d");
  ctx.clearRect(0, 0, crop.width, crop.height);
  const src = d.source;
  const b = d.crop_box;
  $("crop-figure").hidden = !(src && b);
  if (src && b) ctx.drawImage(src, b[0], b[1], b[2] - b[0], b[3] - b[1], 0, 0, crop.width, crop.height);
}

function renderResult(d, refresh) {
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
  const pct = Math.round((d.confidence ?? 0) * 100);
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
  // the rules, not the class, set this advice (uncertain, or raised to a doctor's visit): no reassuring care text
  fillList("result-care", a.triage_reasons.some((r) => !r.startsWith("class:")) ? [t("careChecked")] : a.care);
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

function fillList(id, items) {
  const ul = $(id);
  ul.replaceChildren(...(items || []).map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
}

async function streamAdvice(diagnosis) {
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

// ---------- upload ----------
function showPhoto(img) {
  state.photo = img;
  const el = $("photo");
  el.hidden = !img;
  $("video").hidden = !!img;
  $("stage").classList.toggle("photo", !!img);
  if (img) { el.src = img.src; $("placeholder").hidden = true; }
  else { el.removeAttribute("src"); $("placeholder").hidden = !!state.stream; }
}

function loadImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("not an image")); };
    img.src = url;
  });
}

async function onUpload(ev) {
  const file = ev.target.files && ev.target.files[0];
  ev.target.value = "";
  if (!file) return;
  if (state.showingResult) startOver();
  if (state.stream) stopCamera();
  state.mode = "upload";
  setNotice(null);
  setStatus({ key: "analysing" });
  let img = null;
  try { img = await loadImage(file); } catch (err) { /* the server (or the check below) says what is wrong */ }
  if (img) showPhoto(img);
  try {
    const { ok, body } = state.run === "device" ? await diagnoseOnDevice(file, img) : await diagnoseOnServer(file);
    if (!ok) { showPhoto(null); setStatus({ prefix: "uploadFailed", text: body.detail }); return; }
    state.lastResult = img ? { ...body, width: img.naturalWidth, height: img.naturalHeight, hold: null } : null;
    drawOverlay(state.lastResult);
    if (!body.quality.ok) { setStatus({ quality: body.quality.reason, context: "upload" }); return; }
    setStatus({ quality: "ok", context: "upload" });
    showDiagnosis({ code: body.top_class, confidence: body.confidence, probabilities: body.probabilities,
                    advice: body.advice, crop_box: body.crop_box, source: img, when: new Date(),
                    not_lesion: body.not_lesion, onDevice: state.run === "device" });
  } catch (err) { setStatus({ key: "uploadFailed" }); }
}

async function diagnoseOnServer(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const res = await fetch(`/api/v1/diagnose?lang=${state.lang}`, { method: "POST", body: form });
  const body = await res.json();
  return { ok: res.ok, body: res.ok ? body : { detail: body.detail || String(res.status) } };
}

async function diagnoseOnDevice(file, img) {  // the same checks and answer as the server's, in this browser
  const mb = (n) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);
  if (!img) return { ok: false, body: { detail: `${file.name}: not an image file (or a format this browser cannot read)` } };
  const w = img.naturalWidth, h = img.naturalHeight;
  if (w * h > state.bundle.max_image_pixels) {
    return { ok: false, body: { detail: `${file.name}: ${w}×${h} pixels is over the ${state.bundle.max_image_pixels.toLocaleString("en")} pixel limit (${mb(w * h)} MP)` } };
  }
  if (Math.min(w, h) < 8) return { ok: false, body: { detail: `${file.name}: ${w}×${h} pixels is too small to analyse` } };
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", imageOrientation: "from-image" });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";  // transparent parts read as white, as the server composites them
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const engine = await state.engineReady;
  if (!engine) return diagnoseOnServer(file);  // this browser could not run the model after all
  return { ok: true, body: await engine.diagnose(canvas, state.lang) };
}

// ---------- print summary for the doctor ----------
function renderSummary(d) {
  const a = d.advice;
  $("ps-title").textContent = t("summaryTitle");
  $("ps-date-label").textContent = t("date");
  $("ps-date").textContent = (state.analysedAt || new Date()).toLocaleString(state.lang === "en" ? "en-GB" : state.lang);
  $("ps-result-label").textContent = t("result");
  $("ps-result").textContent = `${fullName(a.plain_name, a.name)} · ${t("confidence")} ${Math.round((d.confidence ?? 0) * 100)}%`;
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

// ---------- opt-in history, kept only in this browser ----------
function historyEnabled() { return !kiosk && localStorage.getItem(HISTORY_ON) === "1"; }
function readHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch (err) { return []; }
}
function renderSave() {
  const on = historyEnabled();
  $("save-block").hidden = !on;
  const spots = [...new Set(readHistory().map((e) => e.spot).filter(Boolean))];
  $("spot-names").replaceChildren(...spots.map((s) => { const o = document.createElement("option"); o.value = s; return o; }));
  renderCompare();
}
function saveResult() {
  const d = state.lastDiagnosis;
  if (!d || !historyEnabled()) return;
  const thumb = document.createElement("canvas");
  thumb.width = thumb.height = 160;
  if (!$("crop-figure").hidden) thumb.getContext("2d").drawImage($("crop"), 0, 0, 160, 160);
  const entry = {
    id: `${Date.now()}`, spot: $("spot-name").value.trim(), date: (state.analysedAt || new Date()).toISOString(),
    code: d.advice.code, confidence: d.confidence, urgency: d.advice.urgency, uncertain: d.advice.uncertain,
    image: $("crop-figure").hidden ? null : thumb.toDataURL("image/jpeg", 0.8),
  };
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify([entry, ...readHistory()]));
    $("saved-note").textContent = t("saved");
  } catch (err) { $("saved-note").textContent = String(err.message || err); }  // storage full or blocked
  renderHistory();
  renderCompare();
}
function historyCard(e) {
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
function renderHistory() {
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
function renderCompare() {
  const spot = $("spot-name").value.trim();
  const earlier = historyEnabled() && spot ? readHistory().filter((e) => e.spot === spot) : [];
  $("compare").hidden = !earlier.length;
  $("compare-list").replaceChildren(...earlier.map(historyCard));
}

// ---------- kiosk: full screen on the first touch, attract screen while idle ----------
function updateAttract() {
  if (!kiosk) return;
  const idle = !state.showingResult && performance.now() - state.lastLesionAt > 8000;
  $("attract").hidden = !(idle || !state.stream);
  $("tap-to-start").hidden = !!document.fullscreenElement;
}
function firstTouch() {
  if (document.fullscreenEnabled && !document.fullscreenElement) document.documentElement.requestFullscreen().catch(() => {});
  if (!state.stream) startCamera();
  updateAttract();
}

// ---------- start ----------
async function init() {
  if (kiosk) { document.body.classList.add("kiosk"); $("attract").hidden = false; }
  const langButton = (code) => $(`lang-${code}`).addEventListener("click", () => { state.lang = code; applyLanguage(); });
  LANGS.forEach(langButton);
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
    (cfg.languages || []).filter((l) => !LANGS.includes(l.code)).forEach((l) => {
      const b = document.createElement("button");
      Object.assign(b, { type: "button", id: `lang-${l.code}`, lang: l.code, textContent: l.name });
      document.querySelector(".lang").append(b);
      LANGS = [...LANGS, l.code];
      langButton(l.code);
    });
    const browserLang = (navigator.language || "").slice(0, 2);
    if (!params.get("lang") && !kiosk && LANGS.includes(browserLang)) state.lang = browserLang;
    if (params.get("lang") && LANGS.includes(params.get("lang"))) state.lang = params.get("lang");
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
