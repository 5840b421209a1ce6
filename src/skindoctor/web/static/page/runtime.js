// Where the analysis runs: on this device (ondevice/engine.js) or on the server; the header's button switches.
import { state, $, RUN_KEY } from "./state.js";
import { tr, t } from "./texts.js";
import { setStatus } from "./render.js";
import { startCamera, stopCamera } from "./camera.js";
import { startOver } from "./result.js";

export function deviceAvailable() { return !!(state.bundle && state.bundle.available && typeof WebAssembly === "object"); }

export function renderRun() {
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

export async function useRun(run, remember) {
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
