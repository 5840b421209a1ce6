// A stand-in for onnxruntime-web and the model, and a camera frame, so engine.js runs whole in Node: the model is
// sure of the first class for every view in the batch; the frame is skin with a dark oval in the middle.
export const ort = { Tensor: class { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } } };

export function sureModel(bundle) {
  const outputs = bundle.classes.length + (bundle.spec.classifier.reject_index == null ? 0 : 1);
  return {
    inputNames: ["input"], outputNames: ["logits"],
    run: async (feeds) => {
      const views = Object.values(feeds)[0].dims[0], data = new Float32Array(views * outputs);
      for (let v = 0; v < views; v++) data[v * outputs] = 12;
      return { logits: { data } };
    },
  };
}

export function lesionCanvas(width, height, shade = 0) {  // as a canvas: its RGBA pixels
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const inside = ((x - width / 2) / (width * 0.12)) ** 2 + ((y - height / 2) / (height * 0.1)) ** 2 <= 1;
    const noise = ((x * 7 + y * 13) % 5) - 2;
    const [r, g, b] = inside ? [95 + shade, 60 + shade, 45] : [205, 160, 140];
    rgba.set([r + noise, g + noise, b + noise, 255], (y * width + x) * 4);
  }
  return { width, height, getContext: () => ({ getImageData: () => ({ width, height, data: rgba }) }) };
}
