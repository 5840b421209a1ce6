// One ONNX model over a batch of preprocessed crops in onnxruntime-web (the page's WebAssembly runtime) under Node.
// node bench/runtime_numerics.mjs RUNTIME_DIR MODEL BATCH N C S LEVEL OUT → the first output of each crop, float32.
import fs from "node:fs";
import path from "node:path";

const [runtimeDir, modelPath, batchPath, n, c, s, level, outPath] = process.argv.slice(2);
const dir = path.resolve(runtimeDir) + "/";
const ort = await import(dir + "ort.wasm.min.mjs");
ort.env.wasm.wasmPaths = dir;
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(fs.readFileSync(modelPath),
  { executionProviders: ["wasm"], graphOptimizationLevel: level });
const bytes = fs.readFileSync(batchPath);
const batch = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const per = Number(c) * Number(s) * Number(s);
const out = [];
for (let i = 0; i < Number(n); i++) {
  const input = new ort.Tensor("float32", batch.slice(i * per, (i + 1) * per), [1, Number(c), Number(s), Number(s)]);
  const result = await session.run({ [session.inputNames[0]]: input });
  out.push(...result[session.outputNames[0]].data);
}
fs.writeFileSync(outPath, Buffer.from(new Float32Array(out).buffer));
