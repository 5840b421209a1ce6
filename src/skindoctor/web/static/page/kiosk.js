// The kiosk: full screen on the first touch, an attract screen while idle, a countdown back to the start.
import { kiosk, state, $ } from "./state.js";
import { t } from "./texts.js";
import { startCamera } from "./camera.js";
import { startOver } from "./result.js";

export function updateAttract() {
  if (!kiosk) return;
  const idle = !state.showingResult && performance.now() - state.lastLesionAt > 8000;
  $("attract").hidden = !(idle || !state.stream);
  $("tap-to-start").hidden = !!document.fullscreenElement;
}

export function firstTouch() {
  if (document.fullscreenEnabled && !document.fullscreenElement) document.documentElement.requestFullscreen().catch(() => {});
  if (!state.stream) startCamera();
  updateAttract();
}

export function startResetCountdown() {
  clearInterval(state.countdownTimer);
  let left = state.resetSeconds;
  const tick = () => {
    $("reset-countdown").textContent = `${t("resetIn")} ${left} ${t("seconds")}`;
    if (left-- <= 0) startOver();
  };
  tick();
  state.countdownTimer = setInterval(tick, 1000);
}
