// steady.js against stream/steady.py: which frames of a stream the localiser searched, and which kept their box.
import test from "node:test";

import { SteadyBox } from "../../src/skindoctor/web/static/ondevice/steady.js";
import { agree, differences, golden, picture } from "./parity.mjs";

const { bundle } = golden("bundle.json");
const { base, cases } = golden("steady.json");

const shifted = (img, shift) => ({ ...img, data: Uint8Array.from(img.data, (v) => Math.min(255, Math.max(0, v + shift))) });

test("the steady box: the same frames searched again", async () => {
  const start = picture(base), wrong = [];
  for (const [n, { in: { frames }, out }] of cases.entries()) {
    const steady = new SteadyBox(bundle.spec.steady), searched = [];
    const search = async () => { searched[searched.length - 1] = true; return { box: [0, 0, 1, 1], area_fraction: 0.1, contrast: 20 }; };
    for (const { shift, size: [width, height] } of frames) {
      searched.push(false);
      await steady.locate({ width, height }, shifted(start, shift), search);
    }
    wrong.push(...differences(out, searched, `stream ${n}`));
  }
  agree(wrong);
});
