// The look-alike demo's evaluation (`finercam demo --lookalike`): the frozen backbone + linear probe of
// cli/demo/lookalike.ts explained on generated test images with GradCAM as the base, target = the true
// class c, in four modes:
//   Baseline       α = 0 (plain Grad-CAM of c)
//   Finer-Default  α = 1, references = the classes at logit ranks 1-3 (the official default)
//   Finer-Compare  α = 1, reference = the logit-nearest class (rank 1)
//   Oracle         α = 1, reference = c's true look-alike (known by construction): separates the method
//                  from the reference choice.
// Per mode, image by image:
//   RD@5%     the paper's relative confidence drop (Eq. 10, F.relativeConfidenceDrop): mask the top 5% CAM
//             pixels (CAM bilinearly resized to the image; masked pixels = 0 in the normalised input, the
//             ImageNet mean colour), RD = (p_c − p*_c) − (p_d − p*_d), softmax probabilities; d = c's true
//             look-alike for every mode, so all rows answer the same question: does masking what the map
//             points at hurt c more than the class it is confused with?
//   Δp(c), Δp(d)  the two halves of RD.
//   part share    Σ cam·mask / Σ cam for the generator's mask of the part that tells c from d.
//   pointing      the map's maximum within half a grid cell of that part.
// Differences from the Baseline are paired per image and given with ± 2 standard errors; every number is
// also split by whether the logit-nearest class is the true look-alike (Finer-CAM's premise).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as F from '../../index';
import { resizeCam, writePng } from '../image-io';
import { writeFileAtomic } from '../util/atomic-write';
import { Progress } from '../progress';
import { composeStrip } from '../util/strip';
import { resizeNearest, type RgbImage } from '../../image/canvas';
import { LOOKALIKE_CLASSES } from './lookalikeClasses';
import { lookalikeSampleSeed, makeLookalikeDataset, renderLookalike } from './lookalikeData';
import { imagesToTensor } from './model';
import type { LookalikeModel } from './lookalike';
import { mean, outlineMask, pairedDiff, slug, stripPick, upscaleMask } from './measures';
import { ScoreLog, scoreMaps } from './score-maps';

export const LOOKALIKE_MODES = [
  { name: 'baseline', label: 'Baseline' },
  { name: 'finer-default', label: 'Finer-Default' },
  { name: 'finer-compare', label: 'Finer-Compare' },
  { name: 'oracle', label: 'Oracle' },
] as const;
const METRICS = ['rd', 'mainDrop', 'refDrop', 'partShare', 'pointing'] as const;
export type Metric = (typeof METRICS)[number];

export interface Paired {
  mean: number;
  /** Paired difference from the Baseline: mean and standard error. */
  diff: { mean: number; se: number };
}
export type Cells = Record<Metric, Paired>;

export interface LookalikeRow {
  mode: string;
  label: string;
  all: Cells;
  /** Images whose logit-nearest class is the true look-alike, and the others. */
  lookalike: Cells;
  other: Cells;
  emptyMaps: number;
}

export interface LookalikeEvalResult {
  /** The generated split: test, or val (the images the target layer was chosen on). */
  split: 'test' | 'val';
  n: number;
  accuracy: number;
  lookalikeRate: number;
  nLookalike: number;
  targetLayer: string;
  /** The layer chosen on validation images (cli/demo/lookalike.ts); differs from targetLayer when one was given. */
  chosenLayer: string;
  grid: number;
  percent: number;
  maskedPixels: number;
  partArea: number;
  pointTolerance: number;
  rows: LookalikeRow[];
  /** The same, pair by pair (each pair is told apart by one part): where the backbone sees the part. */
  pairs: PairRow[];
  strips: string[];
  seconds: number;
}

export interface PairRow {
  part: string;
  classes: [string, string];
  n: number;
  accuracy: number;
  lookalikeRate: number;
  /** Mean part share per mode, in LOOKALIKE_MODES order (as many as were computed). */
  partShare: number[];
}

export interface LookalikeEvalOptions {
  evalSize: number;
  /** Test seed (default: the model's); the layer choice passes the validation seed. */
  seed?: number;
  count: number;
  outDir: string | null;
  batchSize?: number;
  percent?: number;
  device?: F.DeviceName;
  progress?: boolean;
  /** Only the Baseline row (the layer choice). */
  baselineOnly?: boolean;
  /** Which generated split `seed` draws (for the printed table and results.json; default test). */
  split?: 'test' | 'val';
}

/** Targets of the four modes for one sample. */
function modeTargets(row: ArrayLike<number>, c: number, modes: number): F.FinerWeightedTarget[] {
  const order = F.rankBySimilarity(row, c);
  const nb = LOOKALIKE_CLASSES[c].neighbour;
  const all = [
    new F.FinerWeightedTarget(c, order.slice(1, 4), 0),
    new F.FinerWeightedTarget(c, order.slice(1, 4), 1),
    new F.FinerWeightedTarget(c, [order[1]], 1),
    new F.FinerWeightedTarget(c, [nb], 1),
  ];
  return all.slice(0, modes);
}

export async function evaluateLookalike(m: LookalikeModel, opts: LookalikeEvalOptions): Promise<LookalikeEvalResult> {
  const t0 = Date.now();
  const { evalSize, count } = opts;
  if (!Number.isInteger(evalSize) || evalSize < 1) throw new RangeError(`demo: --eval-size must be a positive integer, got ${evalSize}`);
  const percent = opts.percent ?? 5;
  const B = opts.batchSize ?? 16;
  const model = m.loaded.model;
  const size = m.meta.arch.imgSize;
  const grid = size / m.meta.arch.patchSize;
  const K = LOOKALIKE_CLASSES.length;
  const nModes = opts.baselineOnly ? 1 : LOOKALIKE_MODES.length;
  const norm = m.loaded.norm;
  const cam = new F.GradCAM({ model, targetLayers: [m.loaded.targetLayer], reshapeTransform: m.loaded.reshapeTransform });
  const seed = opts.seed ?? m.meta.seeds.test;
  const test = makeLookalikeDataset({ perClass: Math.ceil(evalSize / K), seed, size });
  const n = evalSize;
  const per = Array.from({ length: nModes }, () => new ScoreLog());
  const hit: boolean[] = [];
  const right: boolean[] = [];
  let area = 0;
  const tol = Math.round(size / grid / 2);
  const bar = opts.progress ? new Progress(n, 'demo: explaining test images') : null;
  try {
    for (let s = 0; s < n; s += B) {
      const idx = Array.from({ length: Math.min(B, n - s) }, (_, i) => s + i);
      const labels = idx.map((i) => test.labels[i]);
      const masks = idx.map((i) => test.masks[i]);
      const x = imagesToTensor(idx.map((i) => test.images[i]), norm, opts.device);
      const { cams, outputs } = await cam.computeCams(
        x,
        async (out) => {
          const z = await out.data();
          const sets: F.FinerWeightedTarget[][] = Array.from({ length: nModes }, () => []);
          labels.forEach((c, j) => {
            const row = z.subarray(j * K, (j + 1) * K);
            let best = 0;
            for (let k = 1; k < K; k++) if (row[k] > row[best]) best = k;
            right.push(best === c);
            hit.push(F.rankBySimilarity(row, c)[1] === LOOKALIKE_CLASSES[c].neighbour);
            modeTargets(row, c, nModes).forEach((t, mi) => sets[mi].push(t));
          });
          return sets;
        },
        { defaultSizeIsGrid: true, H: grid, W: grid, numMaps: nModes, caller: 'demo' },
      );
      try {
        for (const mk of masks) area += mk.reduce((a, b) => a + b, 0) / mk.length;
        const refs = labels.map((c) => [LOOKALIKE_CLASSES[c].neighbour]);
        for (let mi = 0; mi < nModes; mi++) {
          per[mi].add(await scoreMaps(cams[mi], { model, x, size, masks, main: labels, refs, percent, device: opts.device }));
        }
      } finally {
        cams.forEach((c) => c.dispose());
        outputs.dispose();
        x.dispose();
      }
      bar?.tick(true, '', idx.length);
    }
    const cells = (mi: number, keep: (i: number) => boolean): Cells => {
      const out = {} as Cells;
      for (const k of METRICS) {
        const a = per[mi][k].filter((_, i) => keep(i));
        const b = per[0][k].filter((_, i) => keep(i));
        out[k] = { mean: mean(a), diff: pairedDiff(a, b) };
      }
      return out;
    };
    const rows: LookalikeRow[] = per.map((_, mi) => ({
      mode: LOOKALIKE_MODES[mi].name,
      label: LOOKALIKE_MODES[mi].label,
      all: cells(mi, () => true),
      lookalike: cells(mi, (i) => hit[i]),
      other: cells(mi, (i) => !hit[i]),
      emptyMaps: per[mi].empty,
    }));
    const pairs: PairRow[] = [];
    for (let a = 0; a < K; a += 2) {
      const idx = right.map((_, i) => i).filter((i) => test.labels[i] === a || test.labels[i] === a + 1);
      pairs.push({
        part: LOOKALIKE_CLASSES[a].part,
        classes: [LOOKALIKE_CLASSES[a].name, LOOKALIKE_CLASSES[a + 1].name],
        n: idx.length,
        accuracy: mean(idx.map((i) => (right[i] ? 1 : 0))),
        lookalikeRate: mean(idx.map((i) => (hit[i] ? 1 : 0))),
        partShare: per.map((pm) => mean(idx.map((i) => pm.partShare[i]))),
      });
    }
    const strips = opts.outDir && count > 0 ? await drawStrips(m, cam, count, opts.outDir, 4, opts.device) : [];
    const nLookalike = hit.filter(Boolean).length;
    const result: LookalikeEvalResult = {
      split: opts.split ?? 'test',
      n, accuracy: right.filter(Boolean).length / n, lookalikeRate: nLookalike / n, nLookalike, targetLayer: m.loaded.targetLayer, chosenLayer: m.meta.targetLayer, grid, percent, maskedPixels: per[0].maskedPixels,
      partArea: area / n, pointTolerance: tol, rows, pairs, strips, seconds: (Date.now() - t0) / 1000,
    };
    if (opts.outDir) {
      await mkdir(opts.outDir, { recursive: true });
      await writeFileAtomic(join(opts.outDir, 'results.json'), `${JSON.stringify({ demo: 'lookalike', ...result, testSeed: seed, files: m.paths }, null, 2)}\n`);
    }
    return result;
  } finally {
    cam.dispose();
  }
}

/** Baseline localisation of each candidate layer on the validation split (the layer choice). */
export async function chooseLayerOnValidation(m: LookalikeModel, perClass: number, layers: readonly string[]): Promise<{ layer: string; pointing: number; partShare: number; accuracy: number; lookalikeRate: number }[]> {
  const out = [];
  for (const layer of layers) {
    const lm: LookalikeModel = { ...m, loaded: { ...m.loaded, targetLayer: layer } };
    const r = await evaluateLookalike(lm, { evalSize: perClass * LOOKALIKE_CLASSES.length, seed: m.meta.seeds.val, count: 0, outDir: null, baselineOnly: true, split: 'val' });
    out.push({ layer, pointing: r.rows[0].all.pointing.mean, partShare: r.rows[0].all.partShare.mean, accuracy: r.accuracy, lookalikeRate: r.lookalikeRate });
  }
  return out;
}

async function drawStrips(m: LookalikeModel, cam: F.GradCAM, count: number, outDir: string, f: number, device?: F.DeviceName): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const size = m.meta.arch.imgSize;
  const grid = size / m.meta.arch.patchSize;
  const S = size * f;
  const names = LOOKALIKE_CLASSES.map((c) => c.name);
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    const { classId, index } = stripPick(k, names.length);
    const seed = lookalikeSampleSeed(m.meta.seeds.test, classId, index);
    const bird = renderLookalike(classId, seed, { size });
    const info = LOOKALIKE_CLASSES[classId];
    const twin = renderLookalike(info.neighbour, seed, { size });
    const x = imagesToTensor([bird.image], m.loaded.norm, device);
    let refsUsed: number[][] = [];
    const { cams, outputs } = await cam.computeCams(
      x,
      async (out) => {
        const z = await out.data();
        const t = modeTargets(z, classId, LOOKALIKE_MODES.length);
        refsUsed = t.map((tt) => [...tt.referenceCategories]);
        return t.map((tt) => [tt]);
      },
      { defaultSizeIsGrid: true, H: grid, W: grid, numMaps: LOOKALIKE_MODES.length, caller: 'demo' },
    );
    try {
      const pt = F.softmax(outputs, 1);
      const probs = Float32Array.from(await pt.data());
      pt.dispose();
      const big = resizeNearest(bird.image, S, S);
      const tiles: RgbImage[] = [big, resizeNearest(twin.image, S, S), outlineMask(big, upscaleMask(bird.partMask, size, f), [255, 0, 255])];
      const labels = [
        `Original\n${names[classId]}\np = ${(100 * probs[classId]).toFixed(1)}%`,
        `Look-alike\n(same pose)\n${names[info.neighbour]}`,
        `True part\n${info.part}\n(magenta outline)`,
      ];
      for (let mi = 0; mi < LOOKALIKE_MODES.length; mi++) {
        const c = cams[mi];
        const [, h, w] = c.shape;
        const map = resizeCam(Float32Array.from(await c.data()), h, w, S, S);
        tiles.push(F.showCamOnImage(big, map, { style: 'finer-cam' }));
        const vs = mi === 0 ? 'Grad-CAM of\nthe class' : `vs\n${refsUsed[mi].map((r) => names[r]).join('\n')}`;
        labels.push(`${LOOKALIKE_MODES[mi].label}\n${vs}`);
      }
      const strip = composeStrip(tiles, labels, { tileHeight: S, textScale: S >= 280 ? 2 : 1 });
      const file = join(outDir, `${String(k + 1).padStart(2, '0')}-${slug(names[classId])}.png`);
      await writePng(file, strip);
      files.push(file);
    } finally {
      cams.forEach((c) => c.dispose());
      outputs.dispose();
      x.dispose();
    }
  }
  return files;
}

const pct = (v: number, d = 1) => `${(100 * v).toFixed(d)}%`;

/** "+0.012 ± 0.004" (± 2 standard errors), and whether it is clear of zero. */
function diffText(d: { mean: number; se: number }, scale: number, digits: number): { text: string; sign: number } {
  const mm = d.mean * scale;
  const e = 2 * d.se * scale;
  const sign = Number.isFinite(e) && Math.abs(mm) > e ? Math.sign(mm) : 0;
  return { text: `${mm >= 0 ? '+' : ''}${mm.toFixed(digits)} ± ${Number.isFinite(e) ? e.toFixed(digits) : '?'}`, sign };
}

const FMT: Record<Metric, { scale: number; digits: number; head: string; width: number }> = {
  rd: { scale: 1, digits: 3, head: 'RD@5%', width: 15 },
  mainDrop: { scale: 1, digits: 3, head: 'Δp(c)', width: 15 },
  refDrop: { scale: 1, digits: 3, head: 'Δp(d)', width: 15 },
  partShare: { scale: 100, digits: 1, head: 'part share %', width: 13 },
  pointing: { scale: 100, digits: 1, head: 'pointing %', width: 13 },
};

function cellsTable(rows: LookalikeRow[], pick: (r: LookalikeRow) => Cells): string[] {
  const lines = [`${'mode'.padEnd(14)}${METRICS.map((k) => FMT[k].head.padStart(FMT[k].width)).join('')}`];
  for (const r of rows) {
    const c = pick(r);
    lines.push(`${r.label.padEnd(14)}${METRICS.map((k) => (Number.isFinite(c[k].mean) ? (c[k].mean * FMT[k].scale).toFixed(FMT[k].digits) : '-').padStart(FMT[k].width)).join('')}`);
    if (r.mode !== 'baseline') {
      lines.push(`${'  vs Baseline'.padEnd(14)}${METRICS.map((k) => (Number.isFinite(c[k].diff.mean) ? diffText(c[k].diff, FMT[k].scale, FMT[k].digits).text : '-').padStart(FMT[k].width)).join('')}`);
    }
  }
  return lines;
}

/** The table printed by `finercam demo --lookalike`, and the paragraph reading it. */
export function formatLookalikeTable(r: LookalikeEvalResult): string {
  const lines = [
    `accuracy ${pct(r.accuracy)} on ${r.n} generated ${r.split === 'val' ? 'validation' : 'test'} images; look-alike rate ${pct(r.lookalikeRate)} (the logit-nearest class is the true look-alike for ${r.nLookalike} of ${r.n})`,
    `target layer ${r.targetLayer} (a ${r.grid}×${r.grid} token grid, ${r.targetLayer === r.chosenLayer ? 'chosen on validation images' : `given; the one chosen on validation images is ${r.chosenLayer}`}); GradCAM base; c = the true class, d = its true look-alike;`,
    `RD@${r.percent}% = (p_c − p*_c) − (p_d − p*_d) after setting the top ${r.percent}% CAM pixels (${r.maskedPixels} px) to the mean colour; part share = Σ cam·mask / Σ cam`,
    `on the part that tells c from d (a uniform map scores ${pct(r.partArea)}); pointing = the CAM's maximum within ${r.pointTolerance} px of it. ± = 2 standard errors`,
    'of the paired per-image differences from the Baseline.',
    '',
    `all ${r.n} images`,
    ...cellsTable(r.rows, (x) => x.all),
    '',
    `logit-nearest class = the true look-alike (${r.nLookalike} images)`,
    ...cellsTable(r.rows, (x) => x.lookalike),
    '',
    `logit-nearest class = another class (${r.n - r.nLookalike} images)`,
    ...(r.n - r.nLookalike > 0 ? cellsTable(r.rows, (x) => x.other) : ['(none)']),
    '',
    'by pair (one part tells the two birds apart; part share % per mode)',
    ...pairTable(r),
    '',
    readLookalike(r),
  ];
  return lines.join('\n');
}

function pairTable(r: LookalikeEvalResult): string[] {
  const modes = LOOKALIKE_MODES.slice(0, r.rows.length);
  const lines = [`${'part'.padEnd(9)}${'classes'.padEnd(48)}${'n'.padStart(5)}${'accuracy'.padStart(10)}${'look-alike'.padStart(12)}${modes.map((m) => m.label.padStart(15)).join('')}`];
  for (const p of r.pairs) {
    const pc = (v: number, w: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-').padStart(w);
    lines.push(`${p.part.padEnd(9)}${p.classes.join(' / ').padEnd(48)}${String(p.n).padStart(5)}${pc(p.accuracy, 10)}${pc(p.lookalikeRate, 12)}${p.partShare.map((v) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '-').padStart(15)).join('')}`);
  }
  return lines;
}

/** A plain-language paragraph on the overall numbers. */
export function readLookalike(r: LookalikeEvalResult): string {
  const base = r.rows.find((x) => x.mode === 'baseline');
  const compare = r.rows.find((x) => x.mode === 'finer-compare');
  const def = r.rows.find((x) => x.mode === 'finer-default');
  const oracle = r.rows.find((x) => x.mode === 'oracle');
  if (!base || !compare || !def || !oracle) return '';
  const MEASURES: [Metric, string, string][] = [
    ['partShare', 'part share', ' points'],
    ['rd', 'RD', ''],
    ['pointing', 'pointing', ' points'],
  ];
  // each measure's paired difference from the Baseline, said as higher / lower / within the noise
  const against = (row: LookalikeRow): string =>
    MEASURES.map(([k, name, unit]) => {
      const d = diffText(row.all[k].diff, FMT[k].scale, FMT[k].digits);
      return `${name} ${d.text}${unit} (${d.sign > 0 ? 'higher' : d.sign < 0 ? 'lower' : 'within the noise'})`;
    }).join(', ');
  const finer = [def, compare, oracle];
  const sign = (row: LookalikeRow, k: Metric) => diffText(row.all[k].diff, FMT[k].scale, FMT[k].digits).sign;
  const onPart = finer.filter((row) => sign(row, 'partShare') > 0 || sign(row, 'pointing') > 0);
  const offPart = finer.filter((row) => sign(row, 'partShare') < 0 || sign(row, 'pointing') < 0);
  const summary = onPart.length && !offPart.length
    ? `So here Finer-CAM moves the map onto the part that tells the look-alikes apart (${onPart.map((x) => x.label).join(', ')}).`
    : !onPart.length && !offPart.length
      ? 'So here no Finer mode puts its map on the distinguishing part more than plain Grad-CAM does, beyond the noise.'
      : onPart.length
        ? `So here the modes disagree: ${onPart.map((x) => x.label).join(', ')} move the map onto the part, ${offPart.map((x) => x.label).join(', ')} move it off.`
        : `So here Finer-CAM moves the map off the distinguishing part (${offPart.map((x) => x.label).join(', ')}).`;
  return [
    `Reading. The probe is right on ${pct(r.accuracy, 0)} of the test birds, and for ${pct(r.lookalikeRate, 0)} of them the class it finds most similar`,
    r.lookalikeRate >= 0.9
      ? `(closest logit) is the real look-alike, so Finer-CAM's automatic references are mostly the right ones here.`
      : `(closest logit) is the real look-alike: Finer-CAM's automatic references are often the wrong class here.`,
    `Plain Grad-CAM (Baseline) puts ${pct(base.all.partShare.mean)} of its map on the one small part that tells the bird from its look-alike`,
    `(a uniform map would put ${pct(r.partArea)}), and its peak lands on that part for ${pct(base.all.pointing.mean, 0)} of the images.`,
    `Against it, Finer-Compare (subtract the logit-nearest class): ${against(compare)};`,
    `Finer-Default (subtract the 3 nearest): ${against(def)};`,
    `Oracle (subtract the true look-alike): ${against(oracle)}.`,
    summary,
    `RD is how much more hiding the map's top ${r.percent}% hurts the class than its look-alike: higher means the map found what tells them apart.`,
    `A "±" larger than its number means the difference could be noise.`,
  ].join(' ');
}
