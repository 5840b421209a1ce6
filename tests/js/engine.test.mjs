// engine.js's answers (Engine.analysisOut) against results.analysis_out, shaped from given predictions: no model
// runs, so neither onnxruntime-web nor a browser is needed.
import test from "node:test";

import { Engine } from "../../src/skindoctor/web/static/ondevice/engine.js";
import { agree, differences, golden } from "./parity.mjs";

const { bundle, tables } = golden("bundle.json");
const { cases } = golden("engine.json");

function analysis({ quality, box, crop_box: cropBox, prediction: p }) {  // as Engine.analyse returns it
  const cam = p?.cam && { maps: p.cam.map((m) => Float64Array.from(m.flat())), h: p.cam[0].length, w: p.cam[0][0].length };
  return { quality, box, cropBox, prediction: p && { probs: p.probs, notLesion: p.not_lesion, cam } };
}

test("a picture's answer, for uploads (with advice) and camera frames (rounded), every language", () => {
  const engine = new Engine(null, bundle, tables, { outputNames: ["logits"] }, null);
  const wrong = cases.flatMap(({ in: c, out: py }, i) => differences(py,
    engine.analysisOut(analysis(c.analysis), c.lang, c.context, c.advice, c.digits), `case ${i} (${c.lang}, ${c.context})`));
  agree(wrong);
});
