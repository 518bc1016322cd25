// pytorch-grad-cam's show_factorization_on_image, create_labels_legend and run_dff_on_image.
//
// Each pixel shows the concept whose (normalised) heat-map is largest there, in that concept's colour, with
// the colour's brightness (HSV value) set to the heat-map value: per concept i the constant colour image
// uint8(255·colour) goes through OpenCV's 8-bit RGB→HSV, its V channel becomes uint8(255·map_i) where i wins
// (0 elsewhere), and back through HSV→RGB; the k layers are summed and blended:
//     out = uint8(255 · (imageWeight · image + (1 − imageWeight) · Σᵢ layerᵢ / 255)).
// Default colours: matplotlib's gist_rainbow at i/k. The package draws its legend (concept labels) with
// matplotlib beside the image; we draw it with the built-in bitmap font instead (a panel of the image's
// height: a colour swatch and the label lines per concept), so only the overlay part is byte-compatible.
import { Tensor } from '../core/tensor';
import { softmax } from '../core/ops/softmax';
import { fmtShape } from '../core/shape';
import { assertRgbImage, type RgbImage } from '../image/types';
import { drawText, measureText } from '../image/font';
import { DeepFeatureFactorization } from './dff';
import type { LayerRef } from './capture';
import type { ReshapeTransform } from './reshape';
import type { Module } from '../core/nn/module';

type Rgb = [number, number, number];

// matplotlib's _gist_rainbow_data (x, (r, g, b)), made into its 256-entry lookup table
const GIST_RAINBOW: [number, Rgb][] = [
  [0.0, [1, 0, 0.16]], [0.03, [1, 0, 0]], [0.215, [1, 1, 0]], [0.4, [0, 1, 0]],
  [0.586, [0, 1, 1]], [0.77, [0, 0, 1]], [0.954, [1, 0, 1]], [1.0, [1, 0, 0.75]],
];

/** matplotlib's gist_rainbow(x) for x in [0, 1] (N = 256 lookup, as Colormap.__call__ on floats). */
export function gistRainbow(x: number): Rgb {
  const N = 256;
  let i = Math.trunc(x * N);
  if (i === N) i = N - 1;
  i = Math.min(N - 1, Math.max(0, i));
  const xi = i / (N - 1);
  const out: Rgb = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    if (i === 0) out[c] = GIST_RAINBOW[0][1][c];
    else if (i === N - 1) out[c] = GIST_RAINBOW[GIST_RAINBOW.length - 1][1][c];
    else {
      const j = GIST_RAINBOW.findIndex(([p]) => p >= xi); // np.searchsorted (left)
      const [x0, y0] = GIST_RAINBOW[j - 1];
      const [x1, y1] = GIST_RAINBOW[j];
      out[c] = Math.min(1, Math.max(0, ((xi - x0) / (x1 - x0)) * (y1[c] - y0[c]) + y0[c]));
    }
  }
  return out;
}

const HSV_SHIFT = 12;
const cvRound = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** OpenCV's 8-bit RGB→HSV (H in 0..179). */
export function rgbToHsv8(r: number, g: number, b: number): Rgb {
  const v = Math.max(r, g, b);
  const vmin = Math.min(r, g, b);
  const diff = v - vmin;
  const sdiv = v === 0 ? 0 : cvRound((255 << HSV_SHIFT) / v);
  const hdiv = diff === 0 ? 0 : cvRound((180 << HSV_SHIFT) / (6 * diff));
  const s = (diff * sdiv + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
  h = (h * hdiv + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  if (h < 0) h += 180;
  return [h, s, v];
}

const SECTORS = [[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]];

/** OpenCV's 8-bit HSV→RGB (float path: s, v scaled by 1/255, h by 6/180; results rounded). */
export function hsvToRgb8(h8: number, s8: number, v8: number): Rgb {
  const f = Math.fround;
  const s = f(s8 * f(1 / 255));
  const v = f(v8 * f(1 / 255));
  let r: number, g: number, b: number;
  if (s === 0) {
    r = g = b = v;
  } else {
    let h = f(h8 * f(6 / 180));
    while (h < 0) h = f(h + 6);
    while (h >= 6) h = f(h - 6);
    let sector = Math.floor(h);
    h = f(h - sector);
    if (sector < 0 || sector >= 6) {
      sector = 0;
      h = 0;
    }
    const tab = [v, f(v * f(1 - s)), f(v * f(1 - f(s * h))), f(v * f(1 - f(s * f(1 - h))))];
    [b, g, r] = SECTORS[sector].map((k) => tab[k]);
  }
  const to8 = (x: number): number => Math.min(255, Math.max(0, cvRound(f(x * 255))));
  return [to8(r), to8(g), to8(b)];
}

export interface ShowFactorizationOptions {
  /** RGB colours in [0, 1], one per concept; default gist_rainbow at i/k. */
  colors?: Rgb[];
  /** Default 0.5. */
  imageWeight?: number;
  /** One label (may hold '\n') per concept: adds a legend panel on the right. */
  conceptLabels?: string[];
}

/** show_factorization_on_image: `explanations` is k×H×W (one image's DFF maps, values in [0, 1]). */
export async function showFactorizationOnImage(img: RgbImage, explanations: Tensor, opts: ShowFactorizationOptions = {}): Promise<RgbImage> {
  const who = 'showFactorizationOnImage';
  assertRgbImage(img, `${who}: img`);
  const { width: W, height: H } = img;
  if (!(explanations instanceof Tensor) || explanations.rank !== 3 || explanations.shape[1] !== H || explanations.shape[2] !== W) {
    throw new Error(`${who}: explanations must be a k×H×W Tensor matching the image (k×${H}×${W}), got ${explanations instanceof Tensor ? fmtShape(explanations.shape) : typeof explanations}`);
  }
  const k = explanations.shape[0];
  const weight = opts.imageWeight ?? 0.5;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw new RangeError(`${who}: imageWeight must be in [0, 1], got ${String(weight)}`);
  const colors = opts.colors ?? Array.from({ length: k }, (_, i) => gistRainbow(i / k));
  if (!Array.isArray(colors) || colors.length < k) throw new Error(`${who}: colors must give one [r, g, b] per concept (${k}), got ${Array.isArray(colors) ? colors.length : typeof colors}`);
  if (opts.conceptLabels && (!Array.isArray(opts.conceptLabels) || opts.conceptLabels.length !== k)) {
    throw new Error(`${who}: conceptLabels must give one label per concept (${k})`);
  }
  const e = await explanations.data();
  const P = H * W;
  const f = Math.fround;
  const hs = colors.slice(0, k).map((c) => rgbToHsv8(Math.trunc(c[0] * 255), Math.trunc(c[1] * 255), Math.trunc(c[2] * 255)));
  const out = new Uint8Array(P * 3);
  for (let p = 0; p < P; p++) {
    let best = 0;
    for (let i = 1; i < k; i++) if (e[i * P + p] > e[best * P + p]) best = i;
    // every concept contributes; only the winner has a non-zero V
    const sum = [0, 0, 0];
    for (let i = 0; i < k; i++) {
      const v = i === best ? Math.trunc(f(255 * e[i * P + p])) & 255 : 0;
      const rgb = hsvToRgb8(hs[i][0], hs[i][1], v);
      for (let c = 0; c < 3; c++) sum[c] = f(sum[c] + f(rgb[c] / 255));
    }
    for (let c = 0; c < 3; c++) {
      const base = f(f(img.data[p * 3 + c] / 255) * f(weight));
      const y = f(f(base + f(sum[c] * f(1 - weight))) * 255);
      out[p * 3 + c] = Math.min(255, Math.max(0, Math.trunc(y)));
    }
  }
  const overlay: RgbImage = { width: W, height: H, data: out };
  return opts.conceptLabels ? hstack([overlay, legendPanel(opts.conceptLabels, colors.slice(0, k), H)]) : overlay;
}

/** A white panel of the given height: per concept a colour swatch and its label lines. */
function legendPanel(labels: string[], colors: Rgb[], height: number): RgbImage {
  const lineW = Math.max(...labels.map((l) => measureText(l).width), 1);
  const width = lineW + 22;
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  let y = 4;
  labels.forEach((label, i) => {
    const c = colors[i].map((v) => Math.trunc(v * 255)) as Rgb;
    for (let yy = y; yy < Math.min(height, y + 7); yy++) for (let x = 4; x < 16; x++) img.data.set(c, (yy * width + x) * 3);
    drawText(img, 20, y, label);
    y += measureText(label).height + 5;
  });
  return img;
}

function hstack(images: RgbImage[]): RgbImage {
  const height = images[0].height;
  const width = images.reduce((s, im) => s + im.width, 0);
  const data = new Uint8Array(width * height * 3);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < height; y++) data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + x0) * 3);
    x0 += im.width;
  }
  return { width, height, data };
}

/**
 * create_labels_legend: per concept, its topK classes by score (descending) as "label:score" lines
 * (score with 2 decimals; a label is cut to its first 3 comma-separated parts).
 */
export function createLabelsLegend(conceptScores: Float32Array | number[], numClasses: number, labels: readonly string[] | ((c: number) => string), topK = 2): string[] {
  const k = conceptScores.length / numClasses;
  const name = typeof labels === 'function' ? labels : (c: number) => labels[c] ?? String(c);
  return Array.from({ length: k }, (_, i) => {
    const row = Array.from(conceptScores.slice(i * numClasses, (i + 1) * numClasses));
    const order = row.map((_, c) => c).sort((a, b) => row[b] - row[a] || b - a).slice(0, topK);
    return order.map((c) => `${name(c).split(',').slice(0, 3).join(',')}:${row[c].toFixed(2)}`).join('\n');
  });
}

export interface RunDffOptions {
  model: Module;
  targetLayer: LayerRef;
  /** Scores the concepts (k × C → k × classes), e.g. the model's head. */
  classifier: Module | ((concepts: Tensor) => Tensor);
  /** The image as shown, and the model's input for it (1×C×H×W or C×H×W), of the same height and width. */
  image: RgbImage;
  inputTensor: Tensor;
  reshapeTransform?: ReshapeTransform | null;
  /** Class names for the legend (default: the class index). */
  labels?: readonly string[];
  nComponents?: number;
  topK?: number;
}

/** run_dff_on_image: [image | concepts overlaid (image weight 0.3) | legend of each concept's top classes]. */
export async function runDffOnImage(opts: RunDffOptions): Promise<RgbImage> {
  const who = 'runDffOnImage';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected an options object {model, targetLayer, classifier, image, inputTensor}`);
  assertRgbImage(opts.image, `${who}: image`);
  const x = opts.inputTensor instanceof Tensor && opts.inputTensor.rank === 3 ? opts.inputTensor.reshape([1, ...opts.inputTensor.shape]) : opts.inputTensor;
  if (!(x instanceof Tensor) || x.rank !== 4 || x.shape[0] !== 1 || x.shape[2] !== opts.image.height || x.shape[3] !== opts.image.width) {
    throw new Error(`${who}: inputTensor must be one image (C×H×W or 1×C×H×W) of the image's size ${opts.image.height}×${opts.image.width}, got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
  }
  const dff = new DeepFeatureFactorization({ model: opts.model, targetLayer: opts.targetLayer, reshapeTransform: opts.reshapeTransform, computationOnConcepts: opts.classifier });
  try {
    const r = await dff.forward({ inputTensor: x, nComponents: opts.nComponents ?? 5 });
    const probs = softmax(r.conceptOutputs!, -1);
    const scores = Float32Array.from(await probs.data());
    const legend = createLabelsLegend(scores, r.conceptOutputs!.shape[1], opts.labels ?? ((c) => String(c)), opts.topK ?? 2);
    const vis = await showFactorizationOnImage(opts.image, r.explanations.reshape(r.explanations.shape.slice(1)), { imageWeight: 0.3, conceptLabels: legend });
    return hstack([opts.image, vis]);
  } finally {
    dff.dispose();
  }
}
