// The product's picture path in the browser: ports of vision/quality.py, vision/localize.py, vision/segment.py
// and vision/preprocess.py, with the OpenCV operations they use written out (area and bilinear resizing, the
// 5×5 Gaussian, 8-bit Lab and YCrCb, Otsu, 5×5 elliptic opening/closing, 8-connected components).
// An image is { width, height, data: Uint8Array RGB }; settings come from the server's /api/v1/ondevice bundle.
"use strict";

export function rgbImage(width, height, data = new Uint8Array(width * height * 3)) { return { width, height, data }; }

export function fromRGBA(imageData) {  // canvas pixels (RGBA) → RGB
  const { width, height, data } = imageData;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) { out[j] = data[i]; out[j + 1] = data[i + 1]; out[j + 2] = data[i + 2]; }
  return rgbImage(width, height, out);
}

const pyRound = (x) => {  // Python's round() and OpenCV's cvRound: to nearest, halves to even
  const f = Math.floor(x), d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
};
const clamp8 = (v) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

// ---------- resizing (cv2.resize) ----------
const fr = Math.fround;  // OpenCV's area resizing adds float32 weights in float32
function areaTable(src, dst) {  // per output index, the source indices and weights covering its share of the source
  const scale = src / dst, first = new Int32Array(dst + 1), index = [], weight = [];
  for (let d = 0; d < dst; d++) {
    const f1 = d * scale, f2 = f1 + scale, s1 = Math.ceil(f1), s2 = Math.floor(f2), cell = Math.min(scale, src - f1);
    first[d] = index.length;
    if (s1 - f1 > 1e-3) { index.push(s1 - 1); weight.push(fr((s1 - f1) / cell)); }
    for (let k = s1; k < s2; k++) { index.push(k); weight.push(fr(1 / cell)); }
    if (f2 - s2 > 1e-3 && s2 < src) { index.push(s2); weight.push(fr(Math.min(Math.min(f2 - s2, 1), cell) / cell)); }
  }
  first[dst] = index.length;
  return { first, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

function resizeAreaRGB(src, dw, dh) {  // cv2.INTER_AREA on RGB uint8, float32 sums, rounded half to even
  const tx = areaTable(src.width, dw), ty = areaTable(src.height, dh), sw = src.width, data = src.data;
  const rows = new Float64Array(dw * 3 * src.height), out = new Uint8Array(dw * dh * 3);
  for (let y = 0; y < src.height; y++) {
    const base = y * sw * 3;
    for (let x = 0; x < dw; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = tx.first[x]; j < tx.first[x + 1]; j++) {
        const w = tx.weight[j], i = base + tx.index[j] * 3;
        r = fr(r + fr(w * data[i])); g = fr(g + fr(w * data[i + 1])); b = fr(b + fr(w * data[i + 2]));
      }
      const o = (y * dw + x) * 3;
      rows[o] = r; rows[o + 1] = g; rows[o + 2] = b;
    }
  }
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = ty.first[y]; j < ty.first[y + 1]; j++) {
        const w = ty.weight[j], i = (ty.index[j] * dw + x) * 3;
        r = fr(r + fr(w * rows[i])); g = fr(g + fr(w * rows[i + 1])); b = fr(b + fr(w * rows[i + 2]));
      }
      const o = (y * dw + x) * 3;
      out[o] = clamp8(pyRound(r)); out[o + 1] = clamp8(pyRound(g)); out[o + 2] = clamp8(pyRound(b));
    }
  }
  return rgbImage(dw, dh, out);
}

// per output index: [left, right, weight of left, weight of right], the weights in OpenCV's 11-bit fixed point (and
// the float weight of right, for float maps). ``area``: the coefficients OpenCV's INTER_AREA uses when it enlarges
// (a pixel is mixed with its right neighbour only where the output pixel straddles a source edge). ``rows``: OpenCV
// keeps the weights of rows past the picture's edge and mixes the edge row with itself, which its rounding can tell.
function linearTable(src, dst, area = false, rows = false) {
  const inv = dst / src, scale = 1 / inv, table = [];
  for (let d = 0; d < dst; d++) {
    let s, f;
    if (area) {
      s = Math.floor(d * scale);
      f = fr((d + 1) - (s + 1) * inv);
      f = f <= 0 ? 0 : fr(f - Math.floor(f));
    } else {
      f = fr((d + 0.5) * scale - 0.5);
      s = Math.floor(f);
      f = fr(f - s);
    }
    if (!rows && s < 0) { s = 0; f = 0; }
    if (!rows && s >= src - 1) { s = src - 1; f = 0; }
    const at = (i) => Math.min(Math.max(i, 0), src - 1);
    table.push([at(s), at(s + 1), pyRound(fr(1 - f) * 2048), pyRound(f * 2048), f]);
  }
  return table;
}

function resizeLinearFloat(src, dw, dh, tx, ty) {  // a one-channel float map (the localiser's logits)
  const { width: sw, data } = src, rows = new Float64Array(dw * src.height), out = new Float32Array(dw * dh);
  for (let y = 0; y < src.height; y++) for (let x = 0; x < dw; x++) {
    const [a, b, , , f] = tx[x];
    rows[y * dw + x] = data[y * sw + a] * (1 - f) + data[y * sw + b] * f;
  }
  for (let y = 0; y < dh; y++) {
    const [a, b, , , f] = ty[y];
    for (let x = 0; x < dw; x++) out[y * dw + x] = rows[a * dw + x] * (1 - f) + rows[b * dw + x] * f;
  }
  return { width: dw, height: dh, data: out };
}

function resizeLinear8(src, dw, dh, tx, ty) {  // OpenCV's uint8 bilinear: 11-bit weights, its SIMD path's rounding
  const { width: sw, data } = src, out = new Uint8Array(dw * dh * 3), rows = new Int32Array(dw * 3 * src.height);
  for (let y = 0; y < src.height; y++) for (let x = 0; x < dw; x++) {
    const [a, b, wa, wb] = tx[x];
    for (let k = 0; k < 3; k++) rows[(y * dw + x) * 3 + k] = data[(y * sw + a) * 3 + k] * wa + data[(y * sw + b) * 3 + k] * wb;
  }
  for (let y = 0; y < dh; y++) {
    const [a, b, wa, wb] = ty[y], r0 = a * dw * 3, r1 = b * dw * 3, o = y * dw * 3;
    for (let i = 0; i < dw * 3; i++) {
      const v = Math.floor(wa * (rows[r0 + i] >> 4) / 65536) + Math.floor(wb * (rows[r1 + i] >> 4) / 65536);
      out[o + i] = clamp8((v + 2) >> 2);
    }
  }
  return { width: dw, height: dh, data: out };
}

function resizeAreaFast(src, dw, dh, fx, fy) {  // OpenCV's INTER_AREA for whole-number factors: each block's mean
  const { width: sw, data } = src, out = new Uint8Array(dw * dh * 3), area = fx * fy, scale = fr(1 / area);
  for (let y = 0; y < dh; y++) for (let x = 0; x < dw; x++) for (let k = 0; k < 3; k++) {
    let sum = 0;
    for (let j = 0; j < fy; j++) for (let i = 0; i < fx; i++) sum += data[((y * fy + j) * sw + x * fx + i) * 3 + k];
    out[(y * dw + x) * 3 + k] = area === 4 ? (sum + 2) >> 2 : clamp8(pyRound(fr(sum * scale)));  // 2×2: halves up
  }
  return rgbImage(dw, dh, out);
}

export function resizeArea(img, dw, dh) {  // cv2.INTER_AREA: the mean over each output pixel's source area
  if (img.width === dw && img.height === dh) return img;
  const fx = 1 / (dw / img.width), fy = 1 / (dh / img.height);
  if (fx < 1 || fy < 1) {  // OpenCV enlarges with its area coefficients on the bilinear code
    return resizeLinear8(img, dw, dh, linearTable(img.width, dw, true), linearTable(img.height, dh, true, true));
  }
  const ix = pyRound(fx), iy = pyRound(fy);
  if (Math.abs(fx - ix) < Number.EPSILON && Math.abs(fy - iy) < Number.EPSILON) return resizeAreaFast(img, dw, dh, ix, iy);
  return resizeAreaRGB(img, dw, dh);
}
export function resizeLinear(img, dw, dh, float = false) {  // cv2.INTER_LINEAR (float: a one-channel float map)
  const tx = linearTable(img.width, dw);
  if (float) return resizeLinearFloat(img, dw, dh, tx, linearTable(img.height, dh));
  return resizeLinear8(img, dw, dh, tx, linearTable(img.height, dh, false, true));
}
export function resizeSquare(crop, size) {  // preprocess.resize_square
  if (crop.width === size && crop.height === size) return crop;
  return Math.min(crop.width, crop.height) > size ? resizeArea(crop, size, size) : resizeLinear(crop, size, size);
}

export function workingCopy(frame, side) {  // localize.working_copy
  const f = side / Math.max(frame.width, frame.height);
  return resizeArea(frame, Math.max(1, pyRound(frame.width * f)), Math.max(1, pyRound(frame.height * f)));
}

export function cropImage(img, x0, y0, x1, y1) {
  const w = x1 - x0, h = y1 - y0, out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x1) * 3), y * w * 3);
  return rgbImage(w, h, out);
}

export function centerSquare(img) {  // preprocess.center_square: the largest centred square
  const side = Math.min(img.width, img.height);
  const top = Math.floor((img.height - side) / 2), left = Math.floor((img.width - side) / 2);
  return cropImage(img, left, top, left + side, top + side);
}

// ---------- colour conversions (OpenCV's 8-bit forms) ----------
const reflect101 = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);

// OpenCV's kernels for a Gaussian of side 3, 5 or 7 and sigma 0 (getGaussianKernel's table), in 1/256ths
const GAUSSIAN = { 3: [64, 128, 64], 5: [16, 64, 96, 64, 16], 7: [8, 28, 56, 72, 56, 28, 8] };

function gaussianBlur(img, side) {  // cv2.GaussianBlur(img, (side, side), 0): bit-exact fixed point, reflected border
  const k = GAUSSIAN[side];
  if (!k) throw new Error(`the browser's colour localiser blurs with a side of 3, 5 or 7 pixels, not ${side}`);
  const { width: w, height: h, data } = img, r = (side - 1) / 2;
  const tmp = new Int32Array(w * h * 3), out = new Uint8Array(w * h * 3);
  const xs = Int32Array.from({ length: w + 2 * r }, (_, i) => reflect101(i - r, w) * 3);
  const ys = Int32Array.from({ length: h + 2 * r }, (_, i) => reflect101(i - r, h) * w * 3);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let j = 0; j < side; j++) s += k[j] * data[row + xs[x + j] + c];
      tmp[row + x * 3 + c] = s;
    }
  }
  for (let y = 0; y < h; y++) for (let i = 0; i < w * 3; i++) {
    let s = 0;
    for (let j = 0; j < side; j++) s += k[j] * tmp[ys[y + j] + i];
    out[y * w * 3 + i] = (s + 32768) >>> 16;
  }
  return rgbImage(w, h, out);
}

// cv2.COLOR_RGB2LAB on uint8, in OpenCV's fixed point: a 12-bit sRGB→XYZ matrix on 3-bit-gamma values, a cube-root
// table, results L·255/100, a + 128, b + 128
const LAB_SHIFT = 12, GAMMA_SHIFT = 3, LAB_SHIFT2 = LAB_SHIFT + GAMMA_SHIFT;
const descale = (x, n) => (x + (1 << (n - 1))) >> n;
const GAMMA_TAB = Uint16Array.from({ length: 256 }, (_, i) => {
  const v = i / 255;
  return Math.round(255 * (1 << GAMMA_SHIFT) * (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
});
const CBRT_TAB = Uint16Array.from({ length: 256 * 3 / 2 * (1 << GAMMA_SHIFT) }, (_, i) => {
  const x = i / (255 * (1 << GAMMA_SHIFT));
  return Math.round((1 << LAB_SHIFT2) * (x < 0.008856 ? x * 7.787 + 16 / 116 : Math.cbrt(x)));
});
const XYZ = [[0.412453, 0.357580, 0.180423, 0.950456], [0.212671, 0.715160, 0.072169, 1], [0.019334, 0.119193, 0.950227, 1.088754]]
  .map(([r, g, b, white]) => [r, g, b].map((c) => Math.round((1 << LAB_SHIFT) * c / white)));
const [[X0, X1, X2], [Y0, Y1, Y2], [Z0, Z1, Z2]] = XYZ;
const L_SCALE = Math.trunc((116 * 255 + 50) / 100), L_SHIFT = -Math.trunc((16 * 255 * (1 << LAB_SHIFT2) + 50) / 100);

export function toLab(img) {
  const n = img.width * img.height, out = new Float32Array(n * 3), d = img.data;
  for (let i = 0; i < n; i++) {
    const R = GAMMA_TAB[d[3 * i]], G = GAMMA_TAB[d[3 * i + 1]], B = GAMMA_TAB[d[3 * i + 2]];
    const fX = CBRT_TAB[descale(R * X0 + G * X1 + B * X2, LAB_SHIFT)];
    const fY = CBRT_TAB[descale(R * Y0 + G * Y1 + B * Y2, LAB_SHIFT)];
    const fZ = CBRT_TAB[descale(R * Z0 + G * Z1 + B * Z2, LAB_SHIFT)];
    out[3 * i] = clamp8(descale(L_SCALE * fY + L_SHIFT, LAB_SHIFT2));
    out[3 * i + 1] = clamp8(descale(500 * (fX - fY) + 128 * (1 << LAB_SHIFT2), LAB_SHIFT2));
    out[3 * i + 2] = clamp8(descale(200 * (fY - fZ) + 128 * (1 << LAB_SHIFT2), LAB_SHIFT2));
  }
  return out;
}

const luma = (r, g, b) => (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14;  // OpenCV's fixed-point Y of YCrCb
const grey = (r, g, b) => (r * 9798 + g * 19235 + b * 3735 + 16384) >> 15;  // OpenCV's fixed-point RGB2GRAY

// ---------- binary masks ----------
function ellipse(side) {  // cv2.getStructuringElement(MORPH_ELLIPSE, (side, side)), as offsets from its centre
  const c = Math.floor(side / 2), offsets = [];
  for (let i = 0; i < side; i++) {
    const dy = i - c, dx = Math.abs(dy) <= c ? pyRound(c * Math.sqrt((c * c - dy * dy) / (c * c || 1))) : -1;
    for (let j = Math.max(c - dx, 0); j < Math.min(c + dx + 1, side); j++) offsets.push([j - c, dy]);
  }
  return offsets;
}
function morph(mask, w, h, erode, shape) {  // outside the picture counts as neither (OpenCV's default border)
  const out = new Uint8Array(w * h), hit = erode ? 0 : 1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let v = 1 - hit;
    for (let k = 0; k < shape.length; k++) {
      const xx = x + shape[k][0], yy = y + shape[k][1];
      if (xx >= 0 && yy >= 0 && xx < w && yy < h && mask[yy * w + xx] === hit) { v = hit; break; }
    }
    out[y * w + x] = v;
  }
  return out;
}
const opening = (m, w, h, shape) => morph(morph(m, w, h, true, shape), w, h, false, shape);
const closing = (m, w, h, shape) => morph(morph(m, w, h, false, shape), w, h, true, shape);

// cv2.connectedComponentsWithStats(mask, connectivity=8): labels in raster order of first pixel, 0 = background
export function components(mask, w, h) {
  const parent = [0], labels = new Int32Array(w * h);
  const find = (a) => { while (parent[a] !== a) { parent[a] = parent[parent[a]]; a = parent[a]; } return a; };
  const join = (a, b) => { a = find(a); b = find(b); if (a !== b) parent[Math.max(a, b)] = Math.min(a, b); return Math.min(a, b); };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    if (!mask[i]) continue;
    let l = 0;
    const near = [x > 0 && y > 0 ? labels[i - w - 1] : 0, y > 0 ? labels[i - w] : 0,
      x < w - 1 && y > 0 ? labels[i - w + 1] : 0, x > 0 ? labels[i - 1] : 0];
    for (const n of near) if (n) l = l ? join(l, n) : n;
    if (!l) { l = parent.length; parent.push(l); }
    labels[i] = l;
  }
  const remap = new Int32Array(parent.length), stats = [null];
  for (let i = 0; i < w * h; i++) {
    if (!labels[i]) continue;
    const root = find(labels[i]);
    if (!remap[root]) { remap[root] = stats.length; stats.push({ x0: w, y0: h, x1: -1, y1: -1, area: 0, sx: 0, sy: 0 }); }
    const l = remap[root], st = stats[l], x = i % w, y = (i - x) / w;
    labels[i] = l;
    if (x < st.x0) st.x0 = x;
    if (y < st.y0) st.y0 = y;
    if (x > st.x1) st.x1 = x;
    if (y > st.y1) st.y1 = y;
    st.area++; st.sx += x; st.sy += y;
  }
  return { labels, stats };
}

function otsu(values) {  // cv2.THRESH_OTSU on uint8 values, step for step as OpenCV computes it
  const hist = new Float64Array(256), scale = 1 / values.length, eps = 1.1920929e-7;
  for (const v of values) hist[v]++;
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * hist[i];
  mu *= scale;
  let q1 = 0, mu1 = 0, best = 0, bestSigma = 0;
  for (let i = 0; i < 256; i++) {
    const p = hist[i] * scale;
    mu1 *= q1;
    q1 += p;
    const q2 = 1 - q1;
    if (Math.min(q1, q2) < eps || Math.max(q1, q2) > 1 - eps) continue;
    mu1 = (mu1 + i * p) / q1;
    const mu2 = (mu - q1 * mu1) / q2, sigma = q1 * q2 * (mu2 - mu1) ** 2;
    if (sigma > bestSigma) { bestSigma = sigma; best = i; }
  }
  return best;
}

function meanLab(lab, n, pick) {  // mean Lab over the pixels where pick(i)
  const m = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < n; i++) if (pick(i)) { m[0] += lab[3 * i]; m[1] += lab[3 * i + 1]; m[2] += lab[3 * i + 2]; count++; }
  return count ? m.map((v) => v / count) : [0, 0, 0];
}
const distance3 = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

// ---------- the colour localiser (LesionLocalizer.locate) ----------
export function locateByColour(frame, small, cfg) {
  const f = small.width / frame.width;
  const blurred = gaussianBlur(small, cfg.blur), sw = small.width, sh = small.height, n = sw * sh;
  const lab = toLab(blurred);
  const L = Float64Array.from({ length: n }, (_, i) => lab[3 * i]);
  const sorted = Float64Array.from(L).sort();
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const skin = meanLab(lab, n, (i) => L[i] >= median);
  const [wl, wa, wb] = cfg.channel_weights;
  const dist = new Float64Array(n);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const dl = lab[3 * i] - skin[0], da = lab[3 * i + 1] - skin[1], db = lab[3 * i + 2] - skin[2];
    let d = Math.sqrt(dl * dl * wl + da * da * wa + db * db * wb);
    if (L[i] > skin[0] + cfg.lighter_by) d *= cfg.lighter_weight;  // lesions are darker than skin
    dist[i] = d; lo = Math.min(lo, d); hi = Math.max(hi, d);
  }
  const score = Uint8Array.from(dist, (d) => (hi > lo ? Math.floor((d - lo) * 255 / (hi - lo)) : 0));
  const t = otsu(score);
  let mask = Uint8Array.from(score, (v) => (v > t ? 1 : 0));
  const shape = ellipse(cfg.kernel);
  mask = closing(opening(mask, sw, sh, shape), sw, sh, shape);
  const { labels, stats } = components(mask, sw, sh);
  let best = 0, bestScore = 0;
  for (let i = 1; i < stats.length; i++) {
    const s = stats[i], bw = s.x1 - s.x0 + 1, bh = s.y1 - s.y0 + 1;
    if (s.area / n < cfg.min_area) continue;
    const offCentre = Math.hypot((s.sx / s.area - sw / 2) / sw, (s.sy / s.area - sh / 2) / sh);
    const touchesBorder = s.x0 === 0 || s.y0 === 0 || s.x0 + bw === sw || s.y0 + bh === sh;  // one penalty
    const value = s.area * (cfg.centre_weight - offCentre) * (touchesBorder ? cfg.border_weight : 1) * (cfg.fill_offset + s.area / (bw * bh));
    if (value > bestScore) { best = i; bestScore = value; }
  }
  if (!best) return { box: null, area_fraction: 0, contrast: 0 };
  const s = stats[best], area = s.area / n;
  const contrast = distance3(meanLab(lab, n, (i) => labels[i] === best), skin);
  if (contrast < cfg.min_contrast) return { box: null, area_fraction: area, contrast };
  const box = [Math.floor(s.x0 / f), Math.floor(s.y0 / f), Math.min(frame.width, Math.ceil((s.x1 + 1) / f)),
    Math.min(frame.height, Math.ceil((s.y1 + 1) / f))];
  return { box, area_fraction: area, contrast };
}

// ---------- the learned localiser (SegmentLocalizer.locate); ``run`` turns its input tensor into logits ----------
// ``mirrors``: the spec's [left-right, upside-down] flips of the second look

export function mirrorIndex(w, h, [lr, ud]) {  // per pixel index, its index in the mirror image
  return (i) => { const y = Math.floor(i / w), x = i % w; return (ud ? h - 1 - y : y) * w + (lr ? w - 1 - x : x); };
}

export function mirrored(img, flips) {  // an RGB image mirrored over the ``flips`` axes
  const { width: w, height: h, data } = img, out = new Uint8Array(data.length), at = mirrorIndex(w, h, flips);
  for (let i = 0; i < w * h; i++) out.set(data.subarray(i * 3, i * 3 + 3), at(i) * 3);
  return rgbImage(w, h, out);
}

async function lesionProbability(small, cfg, run, flips = null) {  // SegmentLocalizer.heatmap; flips: of the mirror image, mirrored back
  const view = flips ? mirrored(small, flips) : small;
  const { data: logits, width: lw, height: lh } = await run(toTensor(view, cfg.mean, cfg.std), small.width, small.height);
  const up = resizeLinear({ width: lw, height: lh, data: logits }, small.width, small.height, true).data;
  const prob = Float64Array.from(up, (v) => 1 / (1 + Math.exp(-v)));
  if (!flips) return prob;
  const at = mirrorIndex(small.width, small.height, flips);
  return prob.map((_, i) => prob[at(i)]);
}

function bestRegion(prob, w, h, cfg) {  // segment.best_region: the region above the mask threshold with the most probability
  const { labels, stats } = components(Uint8Array.from(prob, (p) => (p >= cfg.mask_threshold ? 1 : 0)), w, h);
  if (stats.length < 2) return null;
  const mass = new Float64Array(stats.length), peak = new Float64Array(stats.length);
  for (let i = 0; i < prob.length; i++) { mass[labels[i]] += prob[i]; if (labels[i]) peak[labels[i]] = Math.max(peak[labels[i]], prob[i]); }
  let best = 1;
  for (let i = 2; i < stats.length; i++) if (mass[i] > mass[best]) best = i;
  return { labels, best, stats: stats[best], peak: peak[best] };
}

async function networkRegion(small, cfg, run, mirrors) {  // segment.lesion_region on a network-sized view, second look included
  const prob = await lesionProbability(small, cfg, run);
  let region = bestRegion(prob, small.width, small.height, cfg);
  if (region && cfg.confirm_below != null && region.peak >= cfg.present_threshold && region.peak < cfg.confirm_below) {
    const looks = [prob];  // the second look, on the view's mirror images
    for (const flips of mirrors) looks.push(await lesionProbability(small, cfg, run, flips));
    region = bestRegion(prob.map((_, i) => looks.reduce((sum, p) => sum + p[i], 0) / looks.length), small.width, small.height, cfg);
  }
  return region;
}

function foundBox(region, small, part, share) {  // SegmentLocalizer._found: the region in frame pixels
  const { labels, best, stats: s } = region, n = small.width * small.height;
  const fx = (part[2] - part[0]) / small.width, fy = (part[3] - part[1]) / small.height;
  const box = [part[0] + Math.floor(s.x0 * fx), part[1] + Math.floor(s.y0 * fy),
    Math.min(part[2], part[0] + Math.ceil((s.x1 + 1) * fx)), Math.min(part[3], part[1] + Math.ceil((s.y1 + 1) * fy))];
  let contrast = 0;
  if (s.area > 0 && s.area < n) {
    const lab = toLab(small);
    contrast = distance3(meanLab(lab, n, (i) => labels[i] === best), meanLab(lab, n, (i) => labels[i] !== best));
  }
  return { box, area_fraction: (s.area / n) * share, contrast };
}

function inputSize(w, h, cfg) {  // segment.input_shape
  const fs = cfg.long_side / Math.max(w, h);
  return [Math.max(cfg.min_input_side, pyRound(w * fs)), Math.max(cfg.min_input_side, pyRound(h * fs))];
}

/** SegmentLocalizer.locate (``part``: SegmentLocalizer._locate, that part of the frame looked at alone); ``work``:
 * the working copy, used if input-sized. */
export async function locateByNetwork(frame, cfg, mirrors, run, work = null, part = null) {
  const [x0, y0, x1, y1] = part || [0, 0, frame.width, frame.height];
  const view = part ? cropImage(frame, x0, y0, x1, y1) : frame, share = ((x1 - x0) * (y1 - y0)) / (frame.width * frame.height);
  const [iw, ih] = inputSize(view.width, view.height, cfg);
  const small = work && work.width === iw && work.height === ih ? work : resizeArea(view, iw, ih);
  const region = await networkRegion(small, cfg, run, mirrors);
  if (!region) return { box: null, area_fraction: 0, contrast: 0 };
  if (region.peak < cfg.present_threshold) {
    return { box: null, area_fraction: (region.stats.area / (small.width * small.height)) * share, contrast: 0 };
  }
  return foundBox(region, small, [x0, y0, x1, y1], share);
}

export function tiles(width, height, grid, overlap) {  // segment.tiles: grid × grid overlapping tiles
  const tw = Math.min(width, pyRound(width / (grid - (grid - 1) * overlap)));
  const th = Math.min(height, pyRound(height / (grid - (grid - 1) * overlap)));
  const at = (side, t) => Array.from({ length: grid }, (_, i) => pyRound((i * (side - t)) / (grid - 1)));
  const out = [];
  for (const y of at(height, th)) for (const x of at(width, tw)) out.push([x, y, x + tw, y + th]);
  return out;
}

export async function lookWiderByNetwork(frame, cfg, mirrors, run) {  // SegmentLocalizer.look_wider: the frame's tiles, closer up
  if (!cfg.look_closer) return { box: null, area_fraction: 0, contrast: 0 };
  const parts = tiles(frame.width, frame.height, cfg.wider_grid, cfg.wider_overlap);
  const [iw, ih] = inputSize(parts[0][2] - parts[0][0], parts[0][3] - parts[0][1], cfg);
  const threshold = cfg.closer_threshold ?? cfg.present_threshold;
  let best = null;
  for (const part of parts) {
    const view = resizeArea(cropImage(frame, ...part), iw, ih);
    const region = await networkRegion(view, cfg, run, mirrors);
    if (region && region.peak >= threshold && (!best || region.peak > best.region.peak)) best = { region, view, part };
  }
  if (!best) return { box: null, area_fraction: 0, contrast: 0 };
  const [x0, y0, x1, y1] = best.part;
  return foundBox(best.region, best.view, best.part, ((x1 - x0) * (y1 - y0)) / (frame.width * frame.height));
}

// ---------- crop, model input, quality gate ----------
export function squareCrop(frame, box, crop) {  // localize.square_crop: shifted inside, never padded
  const { width: w, height: h } = frame;
  const longer = Math.max(box[2] - box[0], box[3] - box[1]);
  const side = Math.min(Math.max(pyRound(longer * (1 + 2 * crop.margin)), crop.min_side), h, w);
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const x0 = Math.min(Math.max(pyRound(cx - side / 2), 0), w - side), y0 = Math.min(Math.max(pyRound(cy - side / 2), 0), h - side);
  return { crop: cropImage(frame, x0, y0, x0 + side, y0 + side), cropBox: [x0, y0, x0 + side, y0 + side] };
}

export function toTensor(img, mean, std) {  // (x/255 - mean) / std, channels first (float32)
  const n = img.width * img.height, out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]), offset = mean[c] / std[c];
    for (let i = 0; i < n; i++) out[c * n + i] = img.data[3 * i + c] * scale - offset;
  }
  return out;
}

function thumbnail(small, gate) {  // QualityGate._thumbnail: per thumbnail pixel, its luma and whether it is skin
  const [tw, th] = gate.thumb_size, thumb = resizeArea(small, tw, th), d = thumb.data, n = tw * th;
  const [cr0, cr1] = gate.skin_cr, [cb0, cb1] = gate.skin_cb;
  const lumas = new Uint8Array(n), skin = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = d[3 * i], g = d[3 * i + 1], b = d[3 * i + 2], y = luma(r, g, b);
    const cr = clamp8(((r - y) * 11682 + (128 << 14) + 8192) >> 14), cb = clamp8(((b - y) * 9241 + (128 << 14) + 8192) >> 14);
    lumas[i] = y;
    skin[i] = cr >= cr0 && cr <= cr1 && cb >= cb0 && cb <= cb1 && y > gate.skin_min_luma;
  }
  return { lumas, skin, n };
}

export function checkFrame(small, gate) {  // QualityGate.check_frame: light and skin on a thumbnail
  const { lumas, skin, n } = thumbnail(small, gate);
  let sum = 0, clipped = 0, skinned = 0;
  for (let i = 0; i < n; i++) {
    sum += lumas[i]; clipped += lumas[i] >= gate.clip_level; skinned += skin[i];
  }
  const metrics = { brightness: sum / n, clipped: clipped / n, skin: skinned / n };
  if (metrics.brightness < gate.min_brightness) return { ok: false, reason: "too_dark", metrics };
  if (metrics.brightness > gate.max_brightness || metrics.clipped > gate.max_clipped) return { ok: false, reason: "too_bright", metrics };
  if (metrics.skin < gate.min_skin) return { ok: false, reason: "no_skin", metrics };
  return { ok: true, reason: "ok", metrics };
}

/** QualityGate.skin_part: the skin pixels' bounding rectangle in a width × height frame's pixels (judged on its
 * working copy ``small``), when it covers less than the gate's ``skin_look_below`` of the frame; else null. */
export function skinPart(small, width, height, gate) {
  const [tw, th] = gate.thumb_size, { skin } = thumbnail(small, gate);
  let c0 = tw, c1 = -1, r0 = th, r1 = -1;
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) {
    if (!skin[y * tw + x]) continue;
    c0 = Math.min(c0, x); c1 = Math.max(c1, x); r0 = Math.min(r0, y); r1 = Math.max(r1, y);
  }
  if (c1 < 0) return null;
  const box = [Math.floor((c0 * width) / tw), Math.floor((r0 * height) / th),
    Math.ceil(((c1 + 1) * width) / tw), Math.ceil(((r1 + 1) * height) / th)];
  return (box[2] - box[0]) * (box[3] - box[1]) < gate.skin_look_below * width * height ? box : null;
}

function sharpness(img) {  // variance of cv2.Laplacian(gray, CV_32F) (ksize 1, reflected border)
  const { width: w, height: h, data } = img, gray = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) gray[i] = grey(data[3 * i], data[3 * i + 1], data[3 * i + 2]);
  let sum = 0, sq = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = gray[y * w + reflect101(x - 1, w)] + gray[y * w + reflect101(x + 1, w)]
      + gray[reflect101(y - 1, h) * w + x] + gray[reflect101(y + 1, h) * w + x] - 4 * gray[y * w + x];
    sum += v; sq += v * v;
  }
  const mean = sum / (w * h);
  return sq / (w * h) - mean * mean;
}

export function checkLesion(frameQuality, loc, view, gate) {  // QualityGate.check_lesion
  const metrics = { ...frameQuality.metrics, lesion_area: loc.area_fraction, contrast: loc.contrast };
  if (!loc.box) return { ok: false, reason: "no_lesion", metrics };
  const [x0, y0, x1, y1] = loc.box;
  if (Math.max(x1 - x0, y1 - y0) < gate.min_lesion_side) return { ok: false, reason: "too_small", metrics };
  metrics.sharpness = sharpness(view);
  if (metrics.sharpness < gate.min_sharpness) return { ok: false, reason: "blurry", metrics };
  return { ok: true, reason: "ok", metrics };
}
