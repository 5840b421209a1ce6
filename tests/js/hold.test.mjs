// hold.js against stream/confirm.py: the hold's state after every frame of the golden timelines.
import assert from "node:assert/strict";
import test from "node:test";

import { HoldConfirmer } from "../../src/skindoctor/web/static/ondevice/hold.js";
import { agree, differences, golden } from "./parity.mjs";

const { bundle } = golden("bundle.json");
const { cases } = golden("hold.json");

test("the hold: every state of every timeline", () => {
  const wrong = [];
  cases.forEach(({ in: { settings, frames }, out: states }, n) => {
    assert.deepEqual(Object.keys(settings).sort(), Object.keys(bundle.spec.hold).sort());  // the bundle's settings
    const hold = new HoldConfirmer(settings);
    frames.forEach((frame, i) => {
      const js = frame === "reset" ? hold.reset() ?? null : hold.update(...frame);
      wrong.push(...differences(states[i], js, `timeline ${n} frame ${i}`));
    });
  });
  agree(wrong);
});
