// On-device mode: the whole product in the browser. onnxruntime-web (WebAssembly) runs the model the server's card
// names, vision.js the quality gate and localiser, hold.js the 3-second hold, advice.js the triage rules and the
// knowledge-base text, steady.js the live stream's steady box; every number is the server's pipeline spec's
// (bundle.spec). Answers have the shapes of the server's (results.py), so the page renders both alike.
// Nothing leaves the browser: the model and settings came once from /api/v1/ondevice and the service worker keeps them.
"use strict";

import { HoldConfirmer } from "./hold.js";
import { SteadyBox } from "./steady.js";
import { knowledgeAdvice, names, text, topClasses, undecidedMessage } from "./advice.js";
import {
  centerSquare, checkFrame, checkLesion, fromRGBA, locateByColour, locateByNetwork, lookWiderByNetwork, mirrored, mirrorIndex, resizeSquare, skinPart, squareCrop, toTensor, workingCopy,
} from "./vision.js";

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function softmax(logits, temperature) {
  const z = Array.from(logits, (v) => v / temperature), top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top)), sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

export class Engine {
  /** ``live``: this page's own ``hold_seconds`` and ``decide_within`` (null: the spec's), as the live WebSocket's
   * ``?hold`` and ``?decide``. */
  static async create(bundle, tables, live = {}) {
    const ort = await import(`${bundle.runtime.url}ort.wasm.min.mjs`);
    ort.env.wasm.wasmPaths = bundle.runtime.url;
    // threads need a cross-origin isolated page (the server's COOP/COEP headers); a phone has cores to spare
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
    const classifier = await ort.InferenceSession.create(await fetchBytes(bundle.model.url), options);
    const localizer = bundle.spec.localizer.name === "learned"
      ? await ort.InferenceSession.create(await fetchBytes(bundle.localizer_url), options) : null;
    return new Engine(ort, bundle, tables, classifier, localizer, live);
  }

  constructor(ort, bundle, tables, classifier, localizer, live = {}) {
    Object.assign(this, { ort, bundle, tables, classifier, localizer });
    this.spec = bundle.spec;
    this.holdSettings = { ...this.spec.hold };
    if (live.hold_seconds) this.holdSettings.hold_seconds = live.hold_seconds;
    if (live.decide_within) this.holdSettings.decide_within = live.decide_within;
    this.codes = bundle.classes.map((c) => c.code);
    this.hasCam = classifier.outputNames.includes("cam");
    this.hasSkin = classifier.outputNames.includes("skin");
    this.hasDomain = classifier.outputNames.includes("dermoscopic");  // OnnxClassifier.temperatures: only with it
    this.stats = { frames: 0, ms: 0, modelMs: 0 };
    this.hold = null;
    this.steady = null;
  }

  // ---------- one picture (analysis.analyse) ----------
  /** The crop as ``views`` of its mirror images (classifier.VIEW_AXES: as is, left-right, upside-down, both), one
   * batch; probabilities and class maps (mirrored back) averaged over them. */
  async classify(square, views = 1) {
    const m = this.spec.classifier, { size, mean, std } = m, n = 3 * size * size, mirrors = this.spec.mirrors;
    const images = [square, ...mirrors.slice(0, views - 1).map((flips) => mirrored(square, flips))];
    const data = new Float32Array(views * n);
    images.forEach((img, k) => data.set(toTensor(img, mean, std), k * n));
    const input = new this.ort.Tensor("float32", data, [views, 3, size, size]);
    const started = performance.now();
    const out = await this.classifier.run({ [this.classifier.inputNames[0]]: input });
    this.stats.modelMs += performance.now() - started;
    const logits = out[this.classifier.outputNames[0]].data, k = logits.length / views, all = new Array(k).fill(0);
    const temps = this.hasDomain ? m.temperatures : null;  // per kind of picture, mixed by P(dermoscopic) (OnnxClassifier._calibrated)
    for (let v = 0; v < views; v++) {
      const p = temps ? 1 / (1 + Math.exp(-out.dermoscopic.data[v])) : 0;
      const temperature = temps ? p * temps.dermoscopic + (1 - p) * temps.camera : m.temperature;
      softmax(logits.slice(v * k, (v + 1) * k), temperature).forEach((q, i) => { all[i] += q / views; });
    }
    const r = m.reject_index;
    const notLesion = r == null ? 0 : all[r];
    const lesion = r == null ? all : all.filter((_, i) => i !== r);
    const total = Math.max(lesion.reduce((a, b) => a + b, 0), 1e-12);
    let cam = null;
    if (this.hasCam) {
      const t = out.cam, [, c, h, w] = t.dims, maps = [];
      const back = [null, ...mirrors].slice(0, views).map((flips) => (flips ? mirrorIndex(w, h, flips) : (i) => i));
      for (let j = 0; j < c; j++) {
        if (j === r) continue;
        const map = new Float64Array(h * w);
        for (let v = 0; v < views; v++) {
          const at = (v * c + j) * h * w;
          for (let i = 0; i < h * w; i++) map[i] += t.data[at + back[v](i)] / views;
        }
        maps.push(map);
      }
      cam = { maps, h, w };
    }
    let notSkin = 0;
    if (this.hasSkin) for (let v = 0; v < views; v++) notSkin += 1 / (1 + Math.exp(out.skin.data[v])) / views;
    return { probs: lesion.map((p) => p / total), notLesion, cam, notSkin };
  }

  /** analysis._skin_or_not: a picture turned away for holding no lesion, whose centre square the network finds no
   * skin in, is told "no skin". */
  async skinOrNot(quality, frame) {
    if (this.spec.classifier.not_skin_threshold == null || !["no_lesion", "not_lesion"].includes(quality.reason)) return quality;
    const prediction = await this.classify(resizeSquare(centerSquare(frame), this.spec.classifier.size));
    return this.notSkin(prediction) ? { ok: false, reason: "no_skin", metrics: quality.metrics } : quality;
  }

  /** analysis._not_skin: the network's own "this shows no skin" (the card's threshold; never without one). */
  notSkin(prediction) {
    const threshold = this.spec.classifier.not_skin_threshold;
    return threshold != null && prediction.notSkin >= threshold;
  }

  async runLocalizer(tensor, w, h) {
    const out = await this.localizer.run({ [this.localizer.inputNames[0]]: new this.ort.Tensor("float32", tensor, [1, 3, h, w]) });
    const t = out[this.localizer.outputNames[0]];
    return { data: t.data, width: t.dims[3], height: t.dims[2] };
  }

  async locate(frame, small) {
    const cfg = this.spec.localizer;
    if (!this.localizer) return locateByColour(frame, small, cfg);
    return locateByNetwork(frame, cfg, this.spec.mirrors, (tensor, w, h) => this.runLocalizer(tensor, w, h), small);
  }

  /** SegmentLocalizer.look_wider: ``skin`` (the part of the frame holding its skin, or null) looked at alone, then
   * the frame's tiles; the colour method has nothing more to find. */
  async lookWider(frame, skin) {
    if (!this.localizer) return { box: null, area_fraction: 0, contrast: 0 };
    const run = (tensor, w, h) => this.runLocalizer(tensor, w, h);
    if (skin) {
      const found = await locateByNetwork(frame, this.spec.localizer, this.spec.mirrors, run, null, skin);
      if (found.box) return found;
    }
    return lookWiderByNetwork(frame, this.spec.localizer, this.spec.mirrors, run);
  }

  /** One picture (analysis.analyse), its crop judged as the spec's number of views; ``steady``: a live stream's
   * steady box, which the searches go through. */
  async analyse(frame, steady = null) {
    const spec = this.spec, gate = spec.gate, size = spec.classifier.size;
    const small = workingCopy(frame, spec.work_side);
    let quality = checkFrame(small, gate);
    const skinDoubt = quality.reason === "no_skin" && spec.classifier.reject_index != null;
    if (!quality.ok && !skinDoubt) return { quality };
    const refused = skinDoubt ? { ok: false, reason: "no_skin", metrics: quality.metrics } : null;
    const locate = (f, s) => this.locate(f, s), wider = (f) => this.lookWider(f, skinPart(small, f.width, f.height, gate));
    let loc = await (steady ? steady.locate(frame, small, locate) : locate(frame, small));
    if (!loc.box && quality.ok) loc = await (steady ? steady.lookWider(frame, wider) : wider(frame));  // the skin alone, then closer up
    let square = null, view = null, cropBox = null;
    if (loc.box) {
      const { crop, cropBox: b } = squareCrop(frame, loc.box, spec.crop);
      cropBox = b;
      square = resizeSquare(crop, size);
      view = Math.min(crop.width, crop.height) >= size ? square : crop;  // never judged enlarged
    }
    quality = checkLesion({ ok: true, reason: "ok", metrics: quality.metrics }, loc, view, gate);
    if (!quality.ok) return { quality: refused || await this.skinOrNot(quality, frame), box: loc.box, cropBox };
    const prediction = await this.classify(square, spec.classifier.views);
    if (this.notSkin(prediction)) return { quality: { ok: false, reason: "no_skin", metrics: quality.metrics }, box: loc.box, cropBox };
    if (prediction.notLesion >= spec.classifier.reject_threshold) {
      const notLesion = { ok: false, reason: "not_lesion", metrics: quality.metrics };
      return { quality: refused || await this.skinOrNot(notLesion, frame), box: loc.box, cropBox };
    }
    return { quality, box: loc.box, cropBox, prediction };
  }

  // ---------- answers in the server's shapes (results.analysis_out / frame_out) ----------
  heatmap(prediction, classIndex) {
    if (!prediction?.cam) return null;
    const { maps, h, w } = prediction.cam;
    const top = classIndex ?? prediction.probs.indexOf(Math.max(...prediction.probs));
    const m = Array.from(maps[top], (v) => Math.max(v, 0)), peak = Math.max(...m);
    const rows = [];
    for (let y = 0; y < h; y++) rows.push(m.slice(y * w, (y + 1) * w).map((v) => round(peak > 0 ? v / peak : v, 3)));
    return rows;
  }

  analysisOut(analysis, lang, context, withAdvice, digits = null) {
    const q = analysis.quality, p = analysis.prediction;
    const out = { quality: { ok: q.ok, reason: q.reason, message: text(this.tables, lang, `${context}.${q.reason}`) },
      box: analysis.box || null, crop_box: analysis.cropBox || null, heatmap: null, top_class: null, name: null,
      confidence: null, probabilities: null, top_k: [], urgency: null, advice: null };
    if (!p) return out;
    const r = (x) => (digits == null ? x : round(x, digits));
    out.top_k = topClasses(p.probs, 3, lang, this.bundle);
    out.top_class = out.top_k[0].class;
    out.name = names(out.top_class, lang, this.bundle)[0];
    out.confidence = r(out.top_k[0].probability);
    out.probabilities = Object.fromEntries(this.codes.map((c, i) => [c, r(p.probs[i])]));
    if (withAdvice) {
      out.advice = knowledgeAdvice(p.probs, lang, p.notLesion, [], this.bundle, this.tables);
      out.urgency = out.advice.urgency;
      out.heatmap = this.heatmap(p);
    }
    return out;
  }

  /** An uploaded photo (drawn on a canvas) → the answer /api/v1/diagnose would give (and P(not a lesion), for
   * ``advice``). */
  async diagnose(canvas, lang) {
    const analysis = await this.analyse(imageFromCanvas(canvas));
    return { ...this.analysisOut(analysis, lang, "upload", true), not_lesion: analysis.prediction?.notLesion ?? null };
  }

  /** A shown result's care guidance worded again (another language). */
  advice(diagnosis, lang) {
    const probs = this.codes.map((c) => diagnosis.probabilities[c]);
    return knowledgeAdvice(probs, lang, diagnosis.not_lesion || 0, diagnosis.candidates || [], this.bundle, this.tables);
  }

  // ---------- a live stream (Pipeline.process + frame_out) ----------
  reset() {
    if (this.hold) this.hold.reset();
    if (this.steady) this.steady.reset();
  }

  /** One camera frame (drawn on a canvas) at time ``t`` seconds → the answer the live WebSocket would give. */
  async process(canvas, t, lang) {
    const started = performance.now(), frame = imageFromCanvas(canvas);
    if (!this.hold) this.hold = new HoldConfirmer(this.holdSettings);
    if (!this.steady) this.steady = new SteadyBox(this.spec.steady);
    const analysis = await this.analyse(frame, this.steady);
    const p = analysis.prediction;
    const hold = this.hold.update(t, p ? p.probs : null, p ? p.notLesion : 0, p ? null : analysis.quality.reason);
    const out = { ...this.analysisOut(analysis, lang, "quality", false, 4), type: "frame", t: round(t, 3),
      width: frame.width, height: frame.height, diagnosis: null, stats: null };
    let undecided = null;
    if (hold.undecided) {
      const rivals = hold.rivals.map((i) => this.codes[i]);
      undecided = { reason: hold.undecided, rivals, message: undecidedMessage(hold.undecided, rivals, lang, this.bundle, this.tables) };
    }
    out.hold = { phase: hold.phase, progress: round(hold.progress, 3),
      candidate: hold.candidate == null ? null : this.codes[hold.candidate],
      confidence: hold.confidence == null ? null : round(hold.confidence, 4), undecided };
    const c = hold.confirmation;
    if (c) {
      const code = this.codes[c.class_index], candidates = c.candidates.map((i) => this.codes[i]);
      const probabilities = Object.fromEntries(this.codes.map((k, i) => [k, c.probs[i]]));
      const advice = knowledgeAdvice(c.probs, lang, c.not_lesion, candidates, this.bundle, this.tables);
      out.diagnosis = { code, name: names(code, lang, this.bundle)[0], confidence: c.confidence, probabilities,
        box: analysis.box || null,
        crop_box: analysis.cropBox || null, t: c.t, held_seconds: c.held_seconds, not_lesion: c.not_lesion, candidates,
        heatmap: this.heatmap(p, c.class_index), advice };
    }
    this.stats.frames += 1;
    this.stats.ms += performance.now() - started;
    return out;
  }
}

/** Canvas pixels → the RGB image the pipeline takes. */
const imageFromCanvas = (canvas) => fromRGBA(canvas.getContext("2d", { willReadFrequently: true })
  .getImageData(0, 0, canvas.width, canvas.height));
