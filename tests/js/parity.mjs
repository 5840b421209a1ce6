// Shared by the golden-case tests: the files in tests/golden/ (written by `python -m skindoctor.dev.golden`), the
// pictures in them, and where a JS answer differs from the Python one.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";

const GOLDEN = new URL("../golden/", import.meta.url);
const TOL = 1e-9;  // as tests/test_ondevice_logic.py

export const golden = (name) => JSON.parse(readFileSync(new URL(name, GOLDEN), "utf8"));

export const digestOf = (img) => ({
  width: img.width, height: img.height, sha256: createHash("sha256").update(img.data).digest("hex"),
});

/** A stored picture ({ width, height, sha256, zlib }: row-wise byte differences, deflated, base64) → RGB image. */
export function picture(stored) {
  const { width, height } = stored, row = width * 3;
  const data = new Uint8Array(inflateSync(Buffer.from(stored.zlib, "base64")));
  for (let y = 0; y < height; y++) for (let i = y * row + 3; i < (y + 1) * row; i++) data[i] = (data[i] + data[i - 3]) & 255;
  const img = { width, height, data };
  if (digestOf(img).sha256 !== stored.sha256) throw new Error("a stored picture does not decode to its sha256");
  return img;
}

/** Where a JS value differs from Python's: numbers within ``tol`` (or ``tol(python's number)``), anything else
 * exactly; undefined counts as null, typed arrays as arrays, and objects must have the same keys. */
export function differences(py, js, path = "", tol = TOL) {
  if (js === undefined) js = null;
  if (ArrayBuffer.isView(js)) js = Array.from(js);
  const show = () => [`${path}: python ${JSON.stringify(py)} != js ${JSON.stringify(js)}`];
  if (py === null || js === null || typeof py !== "object" || typeof js !== "object") {
    const same = typeof py === "number" && typeof js === "number"
      ? Math.abs(py - js) <= (typeof tol === "function" ? tol(py) : tol) : py === js;
    return same ? [] : show();
  }
  if (Array.isArray(py) || Array.isArray(js)) {
    if (!Array.isArray(py) || !Array.isArray(js) || py.length !== js.length) return show();
    return py.flatMap((v, i) => differences(v, js[i], `${path}[${i}]`, tol));
  }
  const keys = (o) => Object.keys(o).sort().join(",");
  if (keys(py) !== keys(js)) return [`${path}: keys ${keys(py)} != ${keys(js)}`];
  return Object.keys(py).flatMap((k) => differences(py[k], js[k], `${path}.${k}`, tol));
}

/** Fails with the first few of ``wrong`` (the differences found). */
export function agree(wrong) {
  assert.ok(wrong.length === 0, `${wrong.length} differences from Python, first:\n${wrong.slice(0, 8).join("\n")}`);
}
