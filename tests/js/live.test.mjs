// engine.js's live stream (Pipeline.process): the page's own hold and decision times (?hold, ?decide) are honoured,
// and a picture held still keeps its lesion box (the steady box) as on the server.
import assert from "node:assert/strict";
import test from "node:test";

import { Engine } from "../../src/skindoctor/web/static/ondevice/engine.js";
import { golden } from "./parity.mjs";
import { lesionCanvas, ort, sureModel } from "./standin.mjs";

const { bundle, tables } = golden("bundle.json");

async function confirmedAt(live, rate = 15, seconds = 8) {  // when a still picture of a lesion is confirmed
  const engine = new Engine(ort, bundle, tables, sureModel(bundle), null, live), frame = lesionCanvas(160, 120);
  for (let i = 0; i < rate * seconds; i++) {
    const msg = await engine.process(frame, i / rate, "en");
    if (msg.diagnosis) return { t: msg.diagnosis.t, held: msg.diagnosis.held_seconds, engine };
  }
  return null;
}

test("the hold time: the spec's, or the page's own", async () => {
  const spec = bundle.spec.hold.hold_seconds, own = await confirmedAt({}), short = await confirmedAt({ hold_seconds: 1.5 });
  assert.ok(own.held >= spec && own.t < spec + 0.5, JSON.stringify(own));
  assert.ok(short.held >= 1.5 && short.t < 2.0, JSON.stringify(short));
  assert.equal(new Engine(ort, bundle, tables, sureModel(bundle), null, { decide_within: 4 }).holdSettings.decide_within, 4);
});

test("a still picture keeps its lesion box between searches, as the spec's steady box says", async () => {
  const engine = new Engine(ort, bundle, tables, sureModel(bundle), null), frame = lesionCanvas(160, 120);
  const locate = engine.locate.bind(engine);
  let searches = 0;
  engine.locate = (...args) => { searches += 1; return locate(...args); };
  const { max_reuse: reuse } = bundle.spec.steady, frames = 30;
  for (let i = 0; i < frames; i++) assert.ok((await engine.process(frame, i / 15, "en")).box, `frame ${i}: a box`);
  assert.equal(searches, Math.ceil(frames / (reuse + 1)));  // searched, then kept for ``reuse`` frames, again and again
  engine.reset();
  await engine.process(frame, 3, "en");
  assert.equal(searches, Math.ceil(frames / (reuse + 1)) + 1);  // start over: searched at once
});

test("a camera frame and an upload both judge the crop as the spec's number of views", async () => {
  const views = 3, spec = { ...bundle.spec, classifier: { ...bundle.spec.classifier, views } };
  const model = sureModel(bundle), run = model.run, batches = [];
  model.run = (feeds) => { batches.push(Object.values(feeds)[0].dims[0]); return run(feeds); };
  const engine = new Engine(ort, { ...bundle, spec }, tables, model, null), frame = lesionCanvas(160, 120);
  assert.ok((await engine.process(frame, 0, "en")).box, "the frame's lesion is found");
  await engine.diagnose(frame, "en");
  assert.deepEqual(batches, [views, views]);
});
