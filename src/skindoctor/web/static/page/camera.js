// The camera and the live session: frames to the browser's engine or over the WebSocket, answers to the stage.
import { kiosk, state, $ } from "./state.js";
import { t } from "./texts.js";
import { setStatus, setNotice, setProgress, drawOverlay } from "./render.js";
import { showDiagnosis } from "./result.js";
import { showPhoto } from "./upload.js";
import { updateAttract } from "./kiosk.js";

export async function startCamera() {
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

export function cameraLost() {  // unplugged or taken by another program: say so, keep the page usable
  stopCamera();
  setStatus({ key: kiosk ? "noCameraKiosk" : "noCamera" });
}

export function releaseCamera() {  // the camera and the live session let go
  if (state.stream) state.stream.getTracks().forEach((tr_) => tr_.stop());
  state.stream = null;
  if (state.ws) state.ws.close();
  state.ws = null;
  clearTimeout(state.frameTimer);
  $("start-camera").textContent = t("startCamera");
}

export function stopCamera() {
  releaseCamera();
  state.mode = "idle";
  $("placeholder").hidden = !!state.photo;
  state.lastResult = null;
  drawOverlay(null);
  setProgress(0);
  setStatus(null);
  setNotice(null);
}

export function cameraUnavailable() {
  if (kiosk) { setStatus({ key: "noCameraKiosk" }); return; }  // a kiosk has no upload: staff can help
  setStatus({ key: "noCamera" });
  $("upload-label").classList.add("primary");
  $("upload-label").focus();
}

export function openSocket(retry) {
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

export function scheduleFrame(delay) {
  clearTimeout(state.frameTimer);
  state.frameTimer = setTimeout(sendFrame, delay);
}

export const grab = document.createElement("canvas");   // the frame being analysed

export const sent = document.createElement("canvas");   // a copy of it, for the card's crop

export function grabFrame(video) {
  const scale = Math.min(1, 640 / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, grab.width, grab.height);
}

export async function analyseOnDevice() {  // one camera frame through the browser's pipeline, at most max_rate a second
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

export function sendFrame() {
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

export function onLiveMessage(msg) {
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

export function freezeCamera() {  // the analysed frame stays on the stage as a still, with its box; the camera is let go
  const still = new Image();
  still.src = sent.toDataURL("image/jpeg", 0.9);
  releaseCamera();
  showPhoto(still);
  drawOverlay(state.lastResult);
}
