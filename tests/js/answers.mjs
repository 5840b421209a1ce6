// Prints the browser port's answers as JSON, for tests/test_golden_parity.py to check against the API's JSON Schema:
// Engine.analysisOut on the golden pictures (uploads with advice, camera frames rounded), and Engine.process on a
// camera-like stream of a synthetic lesion run to a confirmed result (standin.mjs: neither onnxruntime-web nor a
// browser is needed).
import { Engine } from "../../src/skindoctor/web/static/ondevice/engine.js";
import { golden } from "./parity.mjs";
import { lesionCanvas, ort, sureModel } from "./standin.mjs";

const { bundle, tables } = golden("bundle.json");
const { cases } = golden("engine.json");

function analysis({ quality, box, crop_box: cropBox, prediction: p }) {  // as Engine.analyse returns it
  const cam = p?.cam && { maps: p.cam.map((m) => Float64Array.from(m.flat())), h: p.cam[0].length, w: p.cam[0][0].length };
  return { quality, box, cropBox, prediction: p && { probs: p.probs, notLesion: p.not_lesion, cam } };
}

const sure = sureModel(bundle);

const pictures = cases.map(({ in: c }) => new Engine(null, bundle, tables, sure, null)
  .analysisOut(analysis(c.analysis), c.lang, c.context, c.advice, c.digits));
const engine = new Engine(ort, bundle, tables, sure, null), frames = [];
for (let i = 0; i < 75; i++) frames.push(await engine.process(lesionCanvas(160, 120, i % 3), i / 15, i % 2 ? "ko" : "en"));
process.stdout.write(JSON.stringify({ pictures, frames }));
