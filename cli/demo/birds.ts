/**
 * A procedural fine-grained bird data set for the built-in demo.
 *
 * Every image shows the same kind of bird (body ellipse, head, beak, eye,
 * wing, tail, legs on a perch branch) in the same plumage colours, on a
 * textured background with clutter, under random pose (position, scale, small
 * rotation, facing left/right), lighting and pixel noise. All of that depends
 * only on the seed. Classes differ only in six small binary part attributes:
 *
 *   part      | attribute when set           | where
 *   --------- | ---------------------------- | ----------------------------------
 *   beak      | orange beak (else dark grey) | the beak triangle
 *   eyeRing   | white ring around the eye    | a disc around the eye, minus the eye
 *   crown     | red cap                      | the top of the head
 *   throat    | yellow throat patch          | below the beak, inside head/body
 *   wingBar   | pale bar across the wing     | a band across the wing
 *   tailTip   | white tail tip               | the outer end of the tail
 *
 * The 12 classes come in 6 pairs; the two classes of a pair differ in exactly
 * one part (a different part for each pair), and classes of different pairs
 * differ in at least two parts, so each class has exactly one nearest class
 * (its `neighbour`) and one discriminative `part`:
 *
 *   id | name                    | beak   | eyeRing | crown | throat | wingBar | tailTip | neighbour | part
 *   -- | ----------------------- | ------ | ------- | ----- | ------ | ------- | ------- | --------- | -------
 *    0 | Grey-billed Finch       | grey   |         |       |        |         |         |  1        | beak
 *    1 | Orange-billed Finch     | orange |         |       |        |         |         |  0        | beak
 *    2 | Plain-eyed Warbler      | grey   |         | red   | yellow |         |         |  3        | eyeRing
 *    3 | Spectacled Warbler      | grey   | ring    | red   | yellow |         |         |  2        | eyeRing
 *    4 | Plain-capped Sparrow    | grey   | ring    |       |        | bar     |         |  5        | crown
 *    5 | Red-capped Sparrow      | grey   | ring    | red   |        | bar     |         |  4        | crown
 *    6 | Pale-throated Tanager   | grey   | ring    |       |        |         | tip     |  7        | throat
 *    7 | Yellow-throated Tanager | grey   | ring    |       | yellow |         | tip     |  6        | throat
 *    8 | Plain-winged Wren       | grey   |         | red   |        |         | tip     |  9        | wingBar
 *    9 | Bar-winged Wren         | grey   |         | red   |        | bar     | tip     |  8        | wingBar
 *   10 | Dark-tailed Vireo       | grey   |         |       | yellow | bar     |         | 11        | tailTip
 *   11 | White-tipped Vireo      | grey   |         |       | yellow | bar     | tip     | 10        | tailTip
 *
 * Part mask: `partMask[y * size + x] = 1` for the pixels of the class's
 * discriminative part (the one that tells it from its neighbour), namely the
 * pixels that the part's *footprint* touches (anti-aliased coverage > 0) and
 * that no later-drawn opaque layer fully covers. The footprint is the part's
 * region whether or not the attribute is set (for "Plain-eyed Warbler" it is
 * where the eye ring would be), so both classes of a pair have the same mask
 * for the same seed, and their images differ only inside it: rendering class
 * A and its neighbour B with the same seed gives identical pixels outside the
 * mask. (The attribute only changes colours inside the footprint; the pose,
 * background, lighting and noise never depend on the class.)
 */
import { createImage, type RgbImage } from '../../image/canvas';
import { BIRD_CLASSES, BIRD_CLASS_NAMES, type BirdClass, type BirdPart, type BirdTraits } from './birdClasses';
import { checkSeed, hashInts, hashUnit, mix32, mulberry32 } from './rng';
import { capsule, circle, convexPolygon, coverage, ellipse, halfPlane, intersect, union, type Sdf } from './sdf';

export { BIRD_CLASSES, BIRD_CLASS_NAMES, BIRD_PARTS, type BirdClass, type BirdPart, type BirdTraits } from './birdClasses';

// ----------------------------------------------------------------- geometry (bird frame)
// Units: the body ellipse is 0.78 x 0.48; the bird faces +x, y points down.

export type Rgbf = [number, number, number];

const TAIL = convexPolygon([
  [-0.5, -0.1],
  [-1.36, 0.0],
  [-1.4, 0.3],
  [-0.5, 0.16],
]);
const BODY = ellipse(0, 0, 0.78, 0.48);
const WING_ANGLE = 0.2;
const WING_SHAPE = ellipse(-0.2, -0.04, 0.6, 0.27, WING_ANGLE);
const HEAD = circle(0.72, -0.4, 0.36);
/** A band across the wing: |u - 0.02| < 0.08 along the wing's long axis u. */
const WING_BAND: Sdf = (x, y) =>
  Math.abs(Math.cos(WING_ANGLE) * (x + 0.2) + Math.sin(WING_ANGLE) * (y + 0.04) - 0.02) - 0.08;

/** The shapes of the bird, in drawing order. */
const G = {
  tail: TAIL,
  tailTip: intersect(TAIL, halfPlane(1, 0, -1.12)),
  legs: union(capsule(0.0, 0.36, -0.06, 0.82, 0.045), capsule(0.2, 0.36, 0.22, 0.82, 0.045)),
  feet: union(capsule(-0.16, 0.84, 0.04, 0.84, 0.04), capsule(0.12, 0.84, 0.32, 0.84, 0.04)),
  body: BODY,
  belly: intersect(BODY, ellipse(0.12, 0.2, 0.6, 0.3)),
  wing: WING_SHAPE,
  wingBar: intersect(WING_SHAPE, WING_BAND),
  head: HEAD,
  crown: intersect(HEAD, halfPlane(0.3, 1, 0.3 * 0.72 - 0.55)), // above a line through (0.72, -0.55)
  throat: intersect(ellipse(0.8, -0.12, 0.22, 0.14), union(HEAD, BODY)),
  eyeRing: circle(0.87, -0.42, 0.15),
  eye: circle(0.87, -0.42, 0.08),
  eyeGlint: circle(0.9, -0.45, 0.028),
  beak: convexPolygon([
    [1.0, -0.5],
    [1.0, -0.3],
    [1.44, -0.38],
  ]),
};

/** Local extent of everything drawn in the bird frame (for the bounding box). */
const EXTENT = { x0: -1.45, x1: 1.48, y0: -0.8, y1: 0.92 };

const PLUMAGE: Rgbf = [122, 108, 78];
const BELLY: Rgbf = [214, 200, 166];
const WING: Rgbf = [84, 72, 56];
const LEGS: Rgbf = [150, 118, 104];
const EYE: Rgbf = [18, 18, 22];
const GLINT: Rgbf = [235, 235, 235];
const BRANCH: Rgbf = [98, 76, 54];
export const ATTRIBUTE_COLOR: Record<BirdPart, [Rgbf, Rgbf | null]> = {
  // [colour when set, colour when not set (null: not drawn)]
  beak: [
    [236, 138, 32],
    [58, 58, 64],
  ],
  eyeRing: [[246, 246, 240], null],
  crown: [[206, 40, 38], null],
  throat: [[246, 212, 40], null],
  wingBar: [[238, 236, 222], null],
  tailTip: [[242, 242, 234], null],
};

export const BACKGROUNDS: readonly Rgbf[] = [
  [96, 132, 74], // foliage
  [150, 186, 214], // sky
  [158, 136, 104], // bark / dusk
  [168, 172, 166], // overcast
  [120, 150, 110], // pale foliage
];

// ----------------------------------------------------------------- rendering

export interface RenderOptions {
  /** Image side in pixels (default 64). */
  size?: number;
}

/**
 * Appearance overrides for the broader pre-training task (cli/demo/broad.ts). Leaving a field out keeps
 * the demo's look; no field changes which random numbers are drawn or in which order, so a style never
 * moves the pose, background layout, lighting or noise of a seed.
 */
export interface BirdStyle {
  /** Base plumage, wing and belly colours (before the per-image tint). */
  plumage?: Rgbf;
  wing?: Rgbf;
  belly?: Rgbf;
  /** The background palette one base colour is drawn from (same draw, longer list). */
  backgrounds?: readonly Rgbf[];
  /** Colour of a part (null: not drawn); overrides the demo's set/unset attribute colour. */
  parts?: Partial<Record<BirdPart, Rgbf | null>>;
}

export interface BirdRender {
  readonly image: RgbImage;
  /** `size * size`, 1 inside the discriminative part (see the module comment). */
  readonly partMask: Uint8Array;
  /** With `allMasks`: every part's mask, by the same rule as `partMask`. */
  readonly partMasks?: Readonly<Record<BirdPart, Uint8Array>>;
}

interface Pose {
  /** Image-space bounding box of the bird (EXTENT rotated and placed), unclipped. */
  box: [number, number, number, number];
  cx: number;
  cy: number;
  unit: number;
  cos: number;
  sin: number;
  flip: number;
}

function drawPose(rng: () => number, size: number): Pose {
  const flip = rng() < 0.5 ? -1 : 1;
  const unit = size * (0.25 + 0.04 * rng());
  const angle = (rng() - 0.5) * 0.4;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // keep the whole bird inside the image: extent of the rotated local box around the centre
  let ex0 = Infinity;
  let ex1 = -Infinity;
  let ey0 = Infinity;
  let ey1 = -Infinity;
  for (const lx of [EXTENT.x0, EXTENT.x1]) {
    for (const ly of [EXTENT.y0, EXTENT.y1]) {
      const u = flip * lx * unit;
      const v = ly * unit;
      const x = cos * u - sin * v;
      const y = sin * u + cos * v;
      ex0 = Math.min(ex0, x);
      ex1 = Math.max(ex1, x);
      ey0 = Math.min(ey0, y);
      ey1 = Math.max(ey1, y);
    }
  }
  const place = (lo: number, hi: number, r: number) => (lo <= hi ? lo + (hi - lo) * r : (lo + hi) / 2);
  const cx = place(1 - ex0, size - 1 - ex1, rng());
  const cy = place(1 - ey0, size - 1 - ey1, rng());
  return { box: [cx + ex0, cy + ey0, cx + ex1, cy + ey1], cx, cy, unit, cos, sin, flip };
}

/** Smooth value noise in [0, 1) on a `cells x cells` lattice over the image. */
function valueNoise(seed: number, octave: number, cells: number, size: number): Float32Array {
  const lattice = new Float32Array((cells + 1) * (cells + 1));
  for (let j = 0; j <= cells; j++) {
    for (let i = 0; i <= cells; i++) lattice[j * (cells + 1) + i] = hashUnit(seed, 0x6e6f, octave, i, j);
  }
  const ci = new Int32Array(size);
  const ct = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const f = ((x + 0.5) / size) * cells;
    const i = Math.min(cells - 1, Math.floor(f));
    const t = f - i;
    ci[x] = i;
    ct[x] = t * t * (3 - 2 * t); // smoothstep
  }
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const j = ci[y]!;
    const ty = ct[y]!;
    for (let x = 0; x < size; x++) {
      const tx = ct[x]!;
      const o = j * (cells + 1) + ci[x]!;
      const a = lattice[o]! + (lattice[o + 1]! - lattice[o]!) * tx;
      const b = lattice[o + cells + 1]! + (lattice[o + cells + 2]! - lattice[o + cells + 1]!) * tx;
      out[y * size + x] = a + (b - a) * ty;
    }
  }
  return out;
}

/** A float RGB buffer with shape painting over a pixel region. */
class Painter {
  readonly rgb: Float32Array;
  constructor(readonly size: number) {
    this.rgb = new Float32Array(size * size * 3);
  }

  /**
   * Paints `sdf` (distances in pixels, image coordinates) over the integer box
   * `[x0, x1) x [y0, y1)`.
   */
  paintImageSpace(sdf: Sdf, color: Rgbf, x0: number, y0: number, x1: number, y1: number): void {
    const { size, rgb } = this;
    x0 = Math.max(0, Math.floor(x0));
    y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(size, Math.ceil(x1));
    y1 = Math.min(size, Math.ceil(y1));
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const c = coverage(sdf(x + 0.5, y + 0.5));
        if (c > 0) blend(rgb, (y * size + x) * 3, color, c);
      }
    }
  }
}

function blend(rgb: Float32Array, o: number, color: Rgbf, c: number): void {
  if (c >= 1) {
    rgb[o] = color[0];
    rgb[o + 1] = color[1];
    rgb[o + 2] = color[2];
  } else {
    rgb[o] = rgb[o]! + (color[0] - rgb[o]!) * c;
    rgb[o + 1] = rgb[o + 1]! + (color[1] - rgb[o + 1]!) * c;
    rgb[o + 2] = rgb[o + 2]! + (color[2] - rgb[o + 2]!) * c;
  }
}

function scaled(c: Rgbf, k: number | Rgbf): Rgbf {
  return typeof k === 'number' ? [c[0] * k, c[1] * k, c[2] * k] : [c[0] * k[0], c[1] * k[1], c[2] * k[2]];
}

function paintBackground(p: Painter, seed: number, rng: () => number, backgrounds: readonly Rgbf[] = BACKGROUNDS): void {
  const { size, rgb } = p;
  const base = backgrounds[Math.floor(rng() * backgrounds.length)]!;
  const tint: Rgbf = [0.9 + 0.2 * rng(), 0.9 + 0.2 * rng(), 0.9 + 0.2 * rng()];
  const n1 = valueNoise(seed, 1, 4, size);
  const n2 = valueNoise(seed, 2, 11, size);
  for (let k = 0; k < size * size; k++) {
    const m = 0.78 + 0.3 * n1[k]! + 0.14 * n2[k]!;
    rgb[3 * k] = base[0] * tint[0] * m;
    rgb[3 * k + 1] = base[1] * tint[1] * m;
    rgb[3 * k + 2] = base[2] * tint[2] * m;
  }
  // clutter: soft leaves / blobs and thin twigs
  const leaves = 3 + Math.floor(rng() * 5);
  for (let i = 0; i < leaves; i++) {
    const cx = rng() * size;
    const cy = rng() * size;
    const rx = size * (0.03 + 0.08 * rng());
    const ry = rx * (0.35 + 0.5 * rng());
    const angle = rng() * Math.PI;
    const shade = 0.6 + 0.6 * rng();
    const color = scaled(base, [shade * (0.85 + 0.3 * rng()), shade * (0.9 + 0.3 * rng()), shade * (0.85 + 0.2 * rng())]);
    const r = Math.max(rx, ry) + 1;
    p.paintImageSpace(ellipse(cx, cy, rx, ry, angle), color, cx - r, cy - r, cx + r, cy + r);
  }
  const twigs = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < twigs; i++) {
    const ax = rng() * size;
    const ay = rng() * size;
    const len = size * (0.15 + 0.35 * rng());
    const a = rng() * Math.PI * 2;
    const bx = ax + Math.cos(a) * len;
    const by = ay + Math.sin(a) * len;
    const w = 0.4 + 0.6 * rng();
    const color = scaled(BRANCH, 0.7 + 0.5 * rng());
    p.paintImageSpace(
      capsule(ax, ay, bx, by, w),
      color,
      Math.min(ax, bx) - 2,
      Math.min(ay, by) - 2,
      Math.max(ax, bx) + 2,
      Math.max(ay, by) + 2,
    );
  }
}

/** The branch the bird stands on, across the whole image (bird frame y = 0.86). */
function paintPerch(p: Painter, pose: Pose): void {
  const { cx, cy, unit, cos, sin, flip } = pose;
  const toImage = (lx: number, ly: number): [number, number] => {
    const u = flip * lx * unit;
    const v = ly * unit;
    return [cx + cos * u - sin * v, cy + sin * u + cos * v];
  };
  const [ax, ay] = toImage(-6, 0.86);
  const [bx, by] = toImage(6, 0.86);
  p.paintImageSpace(capsule(ax, ay, bx, by, 0.075 * unit), BRANCH, 0, 0, p.size, p.size);
}

interface Layer {
  part: BirdPart | null;
  sdf: Sdf;
  color: Rgbf | null; // null: footprint only (not drawn)
}

type Box = readonly [number, number, number, number]; // x0, y0, x1, y1 in the bird frame

/** The bird-frame bounding box of `sdf <= 0` within EXTENT, found on a grid and padded by a grid step. */
function boundingBox(sdf: Sdf): Box {
  const step = 0.02;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let y = EXTENT.y0; y <= EXTENT.y1; y += step) {
    for (let x = EXTENT.x0; x <= EXTENT.x1; x += step) {
      if (sdf(x, y) <= step) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  return [x0 - step, y0 - step, x1 + step, y1 + step];
}

const BOXES = new Map<Sdf, Box>();
for (const sdf of Object.values(G)) BOXES.set(sdf, boundingBox(sdf));

/**
 * Renders a bird with arbitrary part attributes. `maskPart` selects the part
 * whose footprint goes into `partMask` (all zeros when null).
 */
export function renderBirdTraits(
  birdTraits: BirdTraits,
  seed: number,
  options: RenderOptions & { maskPart?: BirdPart | null; style?: BirdStyle; allMasks?: boolean } = {},
): BirdRender {
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 8) throw new RangeError(`renderBird: size must be an integer >= 8, got ${size}`);
  const s = checkSeed(seed);
  const maskPart = options.maskPart ?? null;
  const style = options.style ?? {};
  // every random draw below is made in the same order whatever the traits
  const rng = mulberry32(hashInts(s, 0xb1d5));
  const pose = drawPose(rng, size);
  const plumageTint: Rgbf = [0.92 + 0.16 * rng(), 0.92 + 0.16 * rng(), 0.92 + 0.16 * rng()];
  const light = { angle: rng() * Math.PI * 2, strength: 0.1 + 0.15 * rng(), noise: 3 + 5 * rng() };

  const p = new Painter(size);
  paintBackground(p, s, rng, style.backgrounds);
  paintPerch(p, pose);

  const plumage = scaled(style.plumage ?? PLUMAGE, plumageTint);
  const wing = scaled(style.wing ?? WING, plumageTint);
  const attr = (part: BirdPart): Rgbf | null => {
    const o = style.parts?.[part];
    return o !== undefined ? o : ATTRIBUTE_COLOR[part][birdTraits[part] ? 0 : 1];
  };
  const layers: Layer[] = [
    { part: null, sdf: G.tail, color: wing },
    { part: 'tailTip', sdf: G.tailTip, color: attr('tailTip') },
    { part: null, sdf: G.legs, color: LEGS },
    { part: null, sdf: G.feet, color: LEGS },
    { part: null, sdf: G.body, color: plumage },
    { part: null, sdf: G.belly, color: scaled(style.belly ?? BELLY, plumageTint) },
    { part: null, sdf: G.wing, color: wing },
    { part: 'wingBar', sdf: G.wingBar, color: attr('wingBar') },
    { part: null, sdf: G.head, color: plumage },
    { part: 'crown', sdf: G.crown, color: attr('crown') },
    { part: 'throat', sdf: G.throat, color: attr('throat') },
    { part: 'eyeRing', sdf: G.eyeRing, color: attr('eyeRing') },
    { part: null, sdf: G.eye, color: EYE },
    { part: null, sdf: G.eyeGlint, color: GLINT },
    { part: 'beak', sdf: G.beak, color: attr('beak') },
  ];

  // pixels of the bird's bounding box, with their bird-frame coordinates
  const { cx, cy, unit, cos, sin, flip } = pose;
  const bx0 = Math.max(0, Math.floor(pose.box[0]) - 1);
  const by0 = Math.max(0, Math.floor(pose.box[1]) - 1);
  const bx1 = Math.min(size, Math.ceil(pose.box[2]) + 1);
  const by1 = Math.min(size, Math.ceil(pose.box[3]) + 1);
  const n = (bx1 - bx0) * (by1 - by0);
  const idx = new Int32Array(n);
  const lx = new Float64Array(n);
  const ly = new Float64Array(n);
  let m = 0;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++, m++) {
      const qx = x + 0.5 - cx;
      const qy = y + 0.5 - cy;
      idx[m] = y * size + x;
      lx[m] = (flip * (cos * qx + sin * qy)) / unit;
      ly[m] = (-sin * qx + cos * qy) / unit;
    }
  }
  const partMask = new Uint8Array(size * size);
  const all = options.allMasks ? (Object.fromEntries(layers.filter((l) => l.part).map((l) => [l.part, new Uint8Array(size * size)])) as Record<BirdPart, Uint8Array>) : null;
  const active: Uint8Array[] = [];
  const pad = 1 / unit; // coverage reaches half a pixel outside a shape
  let maskActive = false;
  for (const layer of layers) {
    const own = all && layer.part ? all[layer.part] : null;
    const isMaskPart = maskPart !== null && layer.part === maskPart;
    if (isMaskPart) maskActive = true;
    const box = BOXES.get(layer.sdf)!;
    const x0 = box[0] - pad;
    const y0 = box[1] - pad;
    const x1 = box[2] + pad;
    const y1 = box[3] + pad;
    for (let k = 0; k < n; k++) {
      const u = lx[k]!;
      const v = ly[k]!;
      if (u < x0 || u > x1 || v < y0 || v > y1) continue;
      const c = coverage(layer.sdf(u, v) * unit);
      if (c <= 0) continue;
      const i = idx[k]!;
      if (isMaskPart) partMask[i] = 1;
      else if (maskActive && c >= 1 && layer.color !== null) partMask[i] = 0; // fully covered later
      if (all) {
        if (c >= 1 && layer.color !== null) for (const a of active) if (a !== own) a[i] = 0;
        if (own) own[i] = 1;
      }
      if (layer.color !== null) blend(p.rgb, 3 * i, layer.color, c);
    }
    if (own) active.push(own);
  }

  // lighting gradient and pixel noise (independent of the traits), then quantize
  const image = createImage(size, size, [0, 0, 0]);
  const dx = (2 * light.strength * Math.cos(light.angle)) / size;
  const dy = (2 * light.strength * Math.sin(light.angle)) / size;
  const noiseKey = mix32(s ^ 0x6c69);
  const noiseScale = (2 * light.noise) / 255;
  const rgb = p.rgb;
  const out = image.data;
  for (let y = 0; y < size; y++) {
    const gy = 1 + (y + 0.5 - size / 2) * dy;
    for (let x = 0; x < size; x++) {
      const k = y * size + x;
      const gain = gy + (x + 0.5 - size / 2) * dx;
      const h = mix32(Math.imul(k + 1, 0x9e3779b1) ^ noiseKey);
      for (let ch = 0; ch < 3; ch++) {
        const noise = (((h >>> (ch * 8)) & 0xff) - 127.5) * noiseScale;
        const v = rgb[3 * k + ch]! * gain + noise;
        out[3 * k + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
    }
  }
  return all ? { image, partMask, partMasks: all } : { image, partMask };
}

function birdClass(classId: number): BirdClass {
  const c = BIRD_CLASSES[classId];
  if (!Number.isInteger(classId) || c === undefined) {
    throw new RangeError(`renderBird: classId must be an integer in [0, ${BIRD_CLASSES.length}), got ${classId}`);
  }
  return c;
}

/**
 * Renders one image of class `classId` (deterministic in `seed`): the image
 * and the mask of the class's discriminative part (see the module comment).
 */
export function renderBird(classId: number, seed: number, options: RenderOptions = {}): BirdRender {
  const c = birdClass(classId);
  return renderBirdTraits(c.traits, seed, { ...options, maskPart: c.part });
}

// ----------------------------------------------------------------- data set

/** The per-image seed used by `makeDataset` for sample `index` of class `classId`. */
export function sampleSeed(seed: number, classId: number, index: number): number {
  return hashInts(checkSeed(seed), classId, index, 0x5eed);
}

export interface DatasetOptions {
  /** Class ids to include, or a count n for classes 0..n-1 (default: all 12). */
  classes?: readonly number[] | number;
  /** Images per class. */
  perClass: number;
  /** Data set seed (default 0). */
  seed?: number;
  /** Image side (default 64). */
  size?: number;
}

export interface BirdDataset {
  readonly images: RgbImage[];
  readonly labels: number[];
  readonly masks: Uint8Array[];
  /** The per-image render seeds (`renderBird(labels[i], seeds[i])` reproduces image i). */
  readonly seeds: number[];
  readonly classNames: readonly string[];
}

/**
 * `perClass` images of each class, interleaved by sample index
 * (`[c0 #0, c1 #0, …, c0 #1, c1 #1, …]`), so every prefix is nearly balanced.
 */
export function makeDataset(options: DatasetOptions): BirdDataset {
  const { perClass } = options;
  if (!Number.isInteger(perClass) || perClass < 0) throw new RangeError(`makeDataset: bad perClass ${perClass}`);
  const seed = options.seed ?? 0;
  const size = options.size ?? 64;
  const classes =
    options.classes === undefined
      ? BIRD_CLASSES.map((c) => c.id)
      : typeof options.classes === 'number'
        ? Array.from({ length: options.classes }, (_, i) => i)
        : [...options.classes];
  for (const c of classes) birdClass(c);
  const out: BirdDataset = { images: [], labels: [], masks: [], seeds: [], classNames: BIRD_CLASS_NAMES };
  for (let i = 0; i < perClass; i++) {
    for (const c of classes) {
      const s = sampleSeed(seed, c, i);
      const r = renderBird(c, s, { size });
      out.images.push(r.image);
      out.masks.push(r.partMask);
      out.labels.push(c);
      out.seeds.push(s);
    }
  }
  return out;
}
