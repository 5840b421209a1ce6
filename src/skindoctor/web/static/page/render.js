// What the stage shows while live: the status line, the 'no result yet' notice, the hold ring, the lesion box.
import { kiosk, state, $ } from "./state.js";
import { tr, t, plainName } from "./texts.js";
import { deviceAvailable } from "./runtime.js";

// status line: kept as what to say, not as text, so it can be said again in another language
export function setStatus(status) { state.status = status; renderStatus(); }

export function renderStatus() {
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

export function setNotice(notice) { state.notice = notice; renderNotice(); }

export function renderNotice() {
  const n = state.notice, el = $("notice");
  el.hidden = !n;
  if (!n) { el.textContent = ""; return; }
  const [a, b] = (n.rivals || []).map(plainName).concat(["?", "?"]);
  const key = n.reason === "changing" && (n.rivals || []).length < 2 ? "unsure" : n.reason;
  el.textContent = `${tr(`undecided.${key}`, { a, b })} ${tr("undecided.worried")}`;
}

export function setProgress(p) {
  const circle = $("ring-progress");
  const len = 2 * Math.PI * 44;
  circle.style.strokeDasharray = `${len}`;
  circle.style.strokeDashoffset = `${len * (1 - p)}`;
  $("ring-label").textContent = `${Math.round(p * 100)}%`;
  $("hold").setAttribute("aria-valuenow", String(Math.round(p * 100)));
  $("stage").classList.toggle("holding", p > 0 && p < 1);
}

// the stage shows the camera, or the uploaded photo; boxes are drawn the way each is fitted on screen
export function stageGeometry(w, h) {
  const rect = $("stage").getBoundingClientRect();
  const fit = state.photo || kiosk ? Math.min : Math.max;  // photo and kiosk: contain (all of it); camera: cover
  const s = fit(rect.width / w, rect.height / h);
  return { rect, s, ox: (rect.width - w * s) / 2, oy: (rect.height - h * s) / 2 };
}

export function drawOverlay(msg) {
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
