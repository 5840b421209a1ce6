// An uploaded photo: checked and analysed on this device, or posted to the server.
import { state, $ } from "./state.js";
import { setStatus, setNotice, drawOverlay } from "./render.js";
import { stopCamera } from "./camera.js";
import { showDiagnosis, startOver } from "./result.js";

export function showPhoto(img) {
  state.photo = img;
  const el = $("photo");
  el.hidden = !img;
  $("video").hidden = !!img;
  $("stage").classList.toggle("photo", !!img);
  if (img) { el.src = img.src; $("placeholder").hidden = true; }
  else { el.removeAttribute("src"); $("placeholder").hidden = !!state.stream; }
}

export function loadImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("not an image")); };
    img.src = url;
  });
}

export async function onUpload(ev) {
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

export async function diagnoseOnServer(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const res = await fetch(`/api/v1/diagnose?lang=${state.lang}`, { method: "POST", body: form });
  const body = await res.json();
  return { ok: res.ok, body: res.ok ? body : { detail: body.detail || String(res.status) } };
}

export async function diagnoseOnDevice(file, img) {  // the same checks and answer as the server's, in this browser
  const mb = (n) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);
  if (!img) return { ok: false, body: { detail: `${file.name}: not an image file (or a format this browser cannot read)` } };
  const w = img.naturalWidth, h = img.naturalHeight;
  if (w * h > state.bundle.max_image_pixels) {
    return { ok: false, body: { detail: `${file.name}: ${w}×${h} pixels is over the ${state.bundle.max_image_pixels.toLocaleString("en")} pixel limit (${mb(w * h)} MP)` } };
  }
  if (Math.min(w, h) < state.bundle.min_image_side) return { ok: false, body: { detail: `${file.name}: ${w}×${h} pixels is too small to analyse` } };
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
