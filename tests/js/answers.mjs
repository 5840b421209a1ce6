// Prints the browser port's answers as JSON, for tests/test_golden_parity.py to check against the API's JSON Schema:
// Engine.analysisOut on the golden pictures (uploads with advice, camera frames rounded), and Engine.process on a
// camera-like stream of a synthetic lesion run to a confirmed result (a stand-in model, sure of one class, so neither
// onnxruntime-web nor a browser is needed).
import { Engine } from "../../src/skindoctor/web/static/ondevice/engine.js";
import { golden } from "./parity.mjs";

const { bundle, tables } = golden("bundle.json");
const { cases } = golden("engine.json");

function analysis({ quality, box, crop_box: cropBox, prediction: p }) {  // as Engine.analyse returns it
  const cam = p?.cam && { maps: p.cam.map((m) => Float64Array.from(m.flat())), h: p.cam[0].length, w: p.cam[0][0].length };
  return { quality, box, cropBox, prediction: p && { probs: p.probs, notLesion: p.not_lesion, cam } };
}

const ort = { Tensor: class { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } } };
const outputs = bundle.classes.length + (bundle.spec.classifier.reject_index == null ? 0 : 1);
const sure = {  // logits: the first class far ahead, for every view in the batch
  inputNames: ["input"], outputNames: ["logits"],
  run: async (feeds) => {
    const views = Object.values(feeds)[0].dims[0], data = new Float32Array(views * outputs);
    for (let v = 0; v < views; v++) data[v * outputs] = 12;
    return { logits: { data } };
  },
};

function lesionCanvas(width, height, shade) {  // skin with a dark oval in the middle, as a canvas's RGBA pixels
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const inside = ((x - width / 2) / (width * 0.12)) ** 2 + ((y - height / 2) / (height * 0.1)) ** 2 <= 1;
    const noise = ((x * 7 + y * 13) % 5) - 2;
    const [r, g, b] = inside ? [95 + shade, 60 + shade, 45] : [205, 160, 140];
    rgba.set([r + noise, g + noise, b + noise, 255], (y * width + x) * 4);
  }
  return { width, height, getContext: () => ({ getImageData: () => ({ width, height, data: rgba }) }) };
}

const pictures = cases.map(({ in: c }) => new Engine(null, bundle, tables, sure, null)
  .analysisOut(analysis(c.analysis), c.lang, c.context, c.advice, c.digits));
const engine = new Engine(ort, bundle, tables, sure, null), frames = [];
for (let i = 0; i < 75; i++) frames.push(await engine.process(lesionCanvas(160, 120, i % 3), i / 15, i % 2 ? "ko" : "en"));
process.stdout.write(JSON.stringify({ pictures, frames }));
