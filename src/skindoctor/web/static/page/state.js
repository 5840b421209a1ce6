// The page's state, in one object that every module reads and writes, and what the address asked for.
export const params = new URLSearchParams(location.search);
export const kiosk = location.pathname.replace(/\/$/, "") === "/kiosk" || params.get("kiosk") === "1";
export const HISTORY_KEY = "skindoctor.history.v1", HISTORY_ON = "skindoctor.history.enabled", RUN_KEY = "skindoctor.run";
export const $ = (id) => document.getElementById(id);

export const state = {
  // settings: the address's, else the operator's (/api/v1/config), else the page's defaults
  langs: ["en", "ko"],  // the page's own buttons; a language with a message file on the server is added at start
  lang: ["en", "ko"].includes(params.get("lang")) ? params.get("lang") : (navigator.language || "").startsWith("ko") ? "ko" : "en",
  resetSeconds: Math.max(5, Number(params.get("reset")) || 30),
  hold: Number(params.get("hold")) || null,  // null: the server's setting
  decide: Number(params.get("decide")) || null,
  // what the server sent once: message tables per language, the model's name, the on-device bundle
  tables: {}, model: null, bundle: null,
  // where the analysis runs ("device" | "server") and the browser's engine when it runs here
  run: "server", engine: null, engineReady: null,
  // the camera and the live session
  mode: "idle",  // idle | camera | upload
  stream: null, ws: null, inFlight: false, frameTimer: null, reconnectDelay: 1000, lastFrameAt: 0, lastLesionAt: 0,
  // what the page shows
  status: null, notice: null, photo: null, lastResult: null,
  showingResult: false, lastDiagnosis: null, analysedAt: null, adviceAbort: null, countdownTimer: null,
};
