// End to end: `main([...])` in-process on tiny datasets written to a temp folder, with tiny random models
// (a patch-14 ViT + linear head, a small ResNet) saved as options JSON + safetensors. Checks the files the
// seed's workflow produces (generate → .npy + JSON, visualize → PNG strips, explain, train-probe → a
// classifier generate reads back) by their numbers, plus resume, bad images and usage errors.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { decodeNpy } from '../../cli/util/npy';
import { showCamOnImage } from '../../image/overlay';
import { bird, capture, copyJpeg, removeTempDirs, tempDir, writeClassifier, writeImage, writeTinyResnet, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

const CLASSES = ['Grey-billed Finch', 'Orange-billed Finch', 'Spectacled Warbler'];
const MODE_NAMES = ['baseline', 'finer-default', 'finer-compare'] as const;
const MODE_RANKS: Record<string, number[]> = { baseline: [1, 2, 3], 'finer-default': [1, 2, 3], 'finer-compare': [1] };
const MODE_ALPHA: Record<string, number> = { baseline: 0, 'finer-default': 1, 'finer-compare': 1 };

interface Sidecar {
  image: string;
  width: number;
  height: number;
  targetIdx: number | null;
  logits: number[];
  modes: Record<string, {
    alpha: number; referenceCategoryRanks: number[]; mainCategory: number; referenceCategories: number[]; cam: string;
    mainName?: string | null; referenceNames?: (string | null)[];
  }>;
}

let dir: string;
let ds: string;
let vit: { model: string; weights: string };
let resnet: { model: string; weights: string };
let cls: string;
let classesJson: string;
/** The dataset images: folder, file, expected output key, expected class index from --classes. */
const IMAGES = [
  { folder: 'Grey-billed Finch', file: 'g1.png', key: 'Grey-billed Finch_g1', target: 0 as number | null },
  { folder: 'Grey-billed Finch', file: 'g2.png', key: 'Grey-billed Finch_g2', target: 0 },
  { folder: 'Orange billed finch', file: 'o1.png', key: 'Orange billed finch_o1', target: 1 }, // difflib ratio 0.89 ≥ 0.8
  { folder: 'Unknown Sparrow', file: 'u1.jpg', key: 'Unknown Sparrow_u1', target: null },
];
const SIZES: Record<string, [number, number]> = { 'g1.png': [48, 40], 'g2.png': [37, 45], 'o1.png': [50, 33] };

const read = (p: string) => new Uint8Array(readFileSync(p));
const sidecar = (save: string, key: string): Sidecar => JSON.parse(readFileSync(join(save, `${key}.json`), 'utf8'));
const argmax = (z: number[]) => z.reduce((b, v, i) => (v > z[b] ? i : b), 0);
/** finer_cam.py: classes sorted by |z − z_target| (rank 0 is the target), ranks ≥ K dropped. */
const references = (z: number[], target: number, ranks: number[]) => {
  const order = z.map((v, i) => [Math.abs(v - z[target]), i]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  return ranks.filter((r) => r < z.length).map((r) => order[r]);
};

/** The .npy header, parsed by hand (not by the code under test). */
function npyHeader(bytes: Uint8Array): { version: number; header: string; dataOffset: number } {
  expect(Array.from(bytes.subarray(0, 6))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
  const version = bytes[6];
  expect(version).toBe(1);
  const hlen = bytes[8] | (bytes[9] << 8);
  return { version, header: new TextDecoder().decode(bytes.subarray(10, 10 + hlen)), dataOffset: 10 + hlen };
}

function files(d: string): Map<string, number> {
  return new Map(readdirSync(d).map((f) => [f, statSync(join(d, f)).mtimeMs]));
}

beforeAll(async () => {
  dir = tempDir('e2e');
  ds = join(dir, 'ds');
  writeImage(join(ds, 'Grey-billed Finch', 'g1.png'), bird(0, 11, 48, 40));
  writeImage(join(ds, 'Grey-billed Finch', 'g2.png'), bird(0, 12, 37, 45));
  writeImage(join(ds, 'Orange billed finch', 'o1.png'), bird(1, 13, 50, 33));
  copyJpeg(join(ds, 'Unknown Sparrow', 'u1.jpg'));
  vit = await writeTinyVit(dir);
  resnet = await writeTinyResnet(dir);
  cls = join(dir, 'head.safetensors');
  await writeClassifier(cls, 3, 16, 5);
  classesJson = join(dir, 'classes.json');
  writeFileSync(classesJson, JSON.stringify(CLASSES));
});

const vitArgs = () => ['--model', vit.model, '--weights', vit.weights, '--classifier', cls];

describe('generate (ViT + linear head)', () => {
  let save: string;
  let run: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    save = join(dir, 'cams');
    run = await capture(() => main(['generate', '--dataset', ds, '--save', save, ...vitArgs(), '--classes', classesJson]));
  });

  it('exits 0 and reports progress and a summary', () => {
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/generate: 4\/4 \(/);
    expect(run.err).toContain('generate: done — 4 written, 0 skipped (--resume), 0 failed');
  });

  it('writes float16 .npy files of the original image size', () => {
    for (const im of IMAGES) {
      const rgb = F.decodeImage(read(join(ds, im.folder, im.file)));
      if (SIZES[im.file]) expect([rgb.width, rgb.height]).toEqual(SIZES[im.file]);
      for (const m of MODE_NAMES) {
        const bytes = read(join(save, `${im.key}.${m}.npy`));
        const h = npyHeader(bytes);
        expect(h.header).toContain("'descr': '<f2'");
        expect(h.header).toContain("'fortran_order': False");
        expect(h.header).toContain(`'shape': (${rgb.height}, ${rgb.width})`);
        expect(h.dataOffset % 64).toBe(0);
        expect(bytes.length).toBe(h.dataOffset + 2 * rgb.width * rgb.height);
        const arr = decodeNpy(bytes);
        expect(arr.dtype).toBe('float16');
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of arr.data as Float32Array) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
      }
    }
  });

  it('writes a JSON sidecar with the image, size, target and per-mode categories', () => {
    for (const im of IMAGES) {
      const s = sidecar(save, im.key);
      const rgb = F.decodeImage(read(join(ds, im.folder, im.file)));
      expect(s.image).toBe(join(ds, im.folder, im.file));
      expect([s.width, s.height]).toEqual([rgb.width, rgb.height]);
      expect(s.targetIdx).toBe(im.target);
      expect(s.logits).toHaveLength(3);
      const main = im.target ?? argmax(s.logits);
      expect(Object.keys(s.modes)).toEqual([...MODE_NAMES]);
      for (const m of MODE_NAMES) {
        const e = s.modes[m];
        expect(e.alpha).toBe(MODE_ALPHA[m]);
        expect(e.referenceCategoryRanks).toEqual(MODE_RANKS[m]);
        expect(e.cam).toBe(`${im.key}.${m}.npy`);
        expect(e.mainCategory).toBe(main);
        expect(e.referenceCategories).toEqual(references(s.logits, main, MODE_RANKS[m]));
        expect(e.referenceCategories).toHaveLength(m === 'finer-compare' ? 1 : 2); // rank 3 ≥ K = 3 is dropped
        expect(e.mainName).toBe(CLASSES[main]);
        expect(e.referenceNames).toEqual(e.referenceCategories.map((k) => CLASSES[k]));
      }
    }
  });

  it('the CAMs and logits are what the library computes (CLIP norm, patch-14 grid, INTER_LINEAR to the original size)', async () => {
    const backbone = F.visionTransformer({ ...JSON.parse(readFileSync(vit.model, 'utf8')), numClasses: 0 });
    backbone.loadStateDict(await F.loadSafetensors(read(vit.weights)));
    const probe = new F.LinearProbe(backbone, 3);
    probe.classifier.loadStateDict(await F.loadSafetensors(read(cls)));
    probe.eval();
    const cam = new F.FinerCAM({ model: probe, targetLayers: ['backbone.blocks.-1.norm1'], reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1 }) });
    const im = IMAGES[0];
    const rgb = F.decodeImage(read(join(ds, im.folder, im.file)));
    const pre = F.preprocess(rgb, { patchSize: 14, norm: 'clip' });
    expect([pre.gridH, pre.gridW]).toEqual([3, 4]); // 40×48 → 42×56
    const r = await cam.forwardModes({
      inputTensor: pre.tensor, targetIdx: 0, H: pre.gridH, W: pre.gridW,
      modes: MODE_NAMES.map((m) => ({ alpha: MODE_ALPHA[m], referenceCategoryRanks: MODE_RANKS[m] })),
    });
    const s = sidecar(save, im.key);
    const logits = Array.from(await r.outputs.data());
    logits.forEach((v, i) => expect(Math.abs(v - s.logits[i])).toBeLessThan(1e-5));
    let maxSeen = 0;
    for (let i = 0; i < MODE_NAMES.length; i++) {
      const c = r.cams[i];
      const full = F.resizeBilinearCv((await c.data()) as Float32Array, c.shape[2], c.shape[1], 1, rgb.width, rgb.height);
      const saved = decodeNpy(read(join(save, `${im.key}.${MODE_NAMES[i]}.npy`))).data as Float32Array;
      let worst = 0;
      for (let k = 0; k < full.length; k++) worst = Math.max(worst, Math.abs(full[k] - saved[k]));
      expect(worst).toBeLessThan(1e-3); // float16 storage
      for (const v of saved) maxSeen = Math.max(maxSeen, v);
    }
    expect(maxSeen).toBeGreaterThan(0.5); // the maps are not all zero
    cam.dispose();
  });

  it('--resume skips finished images without touching their files, and redoes an incomplete one', async () => {
    const before = files(save);
    const again = await capture(() => main(['generate', '--dataset', ds, '--save', save, ...vitArgs(), '--classes', classesJson, '--resume']));
    expect(again.code).toBe(0);
    expect(again.err).toContain('0 written, 4 skipped (--resume), 0 failed');
    expect(files(save)).toEqual(before);
    const gone = `${IMAGES[1].key}.finer-compare.npy`;
    rmSync(join(save, gone));
    const redo = await capture(() => main(['generate', '--dataset', ds, '--save', save, ...vitArgs(), '--classes', classesJson, '--resume']));
    expect(redo.code).toBe(0);
    expect(redo.err).toContain('1 written, 3 skipped (--resume), 0 failed');
    const after = files(save);
    expect(after.has(gone)).toBe(true);
    for (const [f, t] of before) if (!f.startsWith(IMAGES[1].key)) expect(after.get(f)).toBe(t);
  });

  it('visualize writes <class>_<name>.png strips: original | closest class example | three overlays', async () => {
    const vis = join(dir, 'vis');
    const r = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--classes', classesJson, '--save', vis, '--tile-height', '40']));
    expect(r.code).toBe(0);
    expect(readdirSync(vis).sort()).toEqual(IMAGES.map((im) => `${im.key}.png`).sort());
    const im = IMAGES[0]; // 48×40: with tile height 40 every tile is drawn at its own size
    const strip = F.decodeImage(read(join(vis, `${im.key}.png`)));
    // margins 10, label band (8 − 1) + 8 = 15, five tiles of 48 px, the colour scale row (8 + 10)
    expect([strip.width, strip.height]).toEqual([10 + 5 * (48 + 10), 10 + 15 + 40 + 10 + 18]);
    const rgb = F.decodeImage(read(join(ds, im.folder, im.file)));
    const tile = (i: number) => {
      const out = new Uint8Array(48 * 40 * 3);
      for (let y = 0; y < 40; y++) out.set(strip.data.subarray(((25 + y) * strip.width + 10 + i * 58) * 3, ((25 + y) * strip.width + 10 + i * 58 + 48) * 3), y * 48 * 3);
      return Array.from(out);
    };
    expect(Array.from(strip.data.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(tile(0)).toEqual(Array.from(rgb.data));
    // The closest class (Finer-Compare's reference) has an example folder only if it is the orange finch.
    const ref = sidecar(save, im.key).modes['finer-compare'].referenceCategories[0];
    if (ref === 1) {
      const ex = F.decodeImage(read(join(ds, 'Orange billed finch', 'o1.png')));
      expect(tile(1)).toEqual(Array.from(F.resizeBicubicPil(ex, 48, 40).data));
    } else {
      expect(tile(1).every((v) => v === 255)).toBe(true);
    }
    MODE_NAMES.forEach((m, i) => {
      const cam = decodeNpy(read(join(save, `${im.key}.${m}.npy`))).data as Float32Array;
      expect(tile(2 + i)).toEqual(Array.from(showCamOnImage(rgb, cam, { style: 'finer-cam' }).data));
    });
    // Another size: 37×45 scaled to height 40 → width round(37·40/45) = 33.
    const g2 = F.decodeImage(read(join(vis, `${IMAGES[1].key}.png`)));
    expect([g2.width, g2.height]).toEqual([10 + 5 * (33 + 10), 75 + 18]);
  });

  it('explain --model prints the categories of the top class and writes the strip', async () => {
    const out = join(dir, 'explain', 'new-folder', 'strip.png'); // folders are created
    const im = IMAGES[0];
    const r = await capture(() => main(['explain', join(ds, im.folder, im.file), ...vitArgs(), '--classes', classesJson, '--out', out]));
    expect(r.code).toBe(0);
    const z = sidecar(save, im.key).logits;
    const top = argmax(z);
    const p = Math.exp(z[top]) / z.reduce((s, v) => s + Math.exp(v), 0);
    const lines = r.out.split('\n');
    for (const [label, ranks] of [['Baseline', [1, 2, 3]], ['Finer-Default', [1, 2, 3]], ['Finer-Compare', [1]]] as const) {
      const line = lines.find((l) => l.startsWith(label))!;
      expect(line).toContain(`main ${CLASSES[top]} (${top}) p=${p.toFixed(3)}`);
      expect(line).toContain(`references ${references(z, top, [...ranks]).map((k) => `${CLASSES[k]} (${k})`).join(', ')}`);
    }
    expect(r.out).toContain(`wrote ${out}`);
    const png = F.decodeImage(read(out));
    // four tiles at height min(256, max(96, 40)) = 96: width round(48·96/40) = 115; three label lines
    // ((8·3 − 1) + 8 = 31) and the colour scale row (8 + 10)
    expect([png.width, png.height]).toEqual([10 + 4 * (115 + 10), 10 + 31 + 96 + 10 + 18]);
  });
});

describe('generate: names, models, failures', () => {
  it('gives unique names to the same stem in two splits and to two extensions of one stem', async () => {
    const root = join(dir, 'split');
    writeImage(join(root, 'train', 'Grey-billed Finch', 's1.png'), bird(0, 21, 30, 30));
    writeImage(join(root, 'test', 'Grey-billed Finch', 's1.png'), bird(0, 22, 30, 30));
    writeImage(join(root, 'train', 'Grey-billed Finch', 'dup.png'), bird(0, 23, 30, 30));
    copyJpeg(join(root, 'train', 'Grey-billed Finch', 'dup.jpg'));
    const save = join(dir, 'split-cams');
    const r = await capture(() => main(['generate', '--dataset', root, '--save', save, ...vitArgs(), '--modes', 'baseline']));
    expect(r.code).toBe(0);
    const expected: [string, string][] = [
      ['Grey-billed Finch_s1', 'test/Grey-billed Finch/s1.png'],
      ['Grey-billed Finch_dup', 'train/Grey-billed Finch/dup.jpg'],
      ['Grey-billed Finch_dup__2', 'train/Grey-billed Finch/dup.png'],
      ['Grey-billed Finch_s1__2', 'train/Grey-billed Finch/s1.png'],
    ];
    expect(readdirSync(save).sort()).toEqual(expected.flatMap(([k]) => [`${k}.baseline.npy`, `${k}.json`]).sort());
    for (const [key, rel] of expected) {
      const s = sidecar(save, key);
      expect(s.image).toBe(join(root, rel));
      expect(s.targetIdx).toBeNull(); // no --classes
      expect(Object.keys(s.modes)).toEqual(['baseline']);
    }
  });

  it('runs a ResNet from an options JSON (layer4, no patch rounding)', async () => {
    const save = join(dir, 'resnet-cams');
    const r = await capture(() => main(['generate', '--dataset', ds, '--save', save, '--model', resnet.model, '--weights', resnet.weights]));
    expect(r.code).toBe(0);
    expect(r.err).toContain('layer layer4');
    for (const im of IMAGES) {
      const s = sidecar(save, im.key);
      expect(s.targetIdx).toBeNull();
      expect(s.logits).toHaveLength(3);
      expect(s.modes.baseline.mainCategory).toBe(argmax(s.logits));
      const arr = decodeNpy(read(join(save, `${im.key}.finer-default.npy`)));
      expect(arr.shape).toEqual([s.height, s.width]);
    }
  });

  it('reports a corrupt image, finishes the rest, exits 1', async () => {
    const root = join(dir, 'bad');
    writeImage(join(root, 'Grey-billed Finch', 'a.png'), bird(0, 31, 30, 28));
    writeImage(join(root, 'Grey-billed Finch', 'c.png'), bird(0, 32, 30, 28));
    writeFileSync(join(root, 'Grey-billed Finch', 'b.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
    writeFileSync(join(root, 'Grey-billed Finch', 'd.jpg'), new Uint8Array(0));
    const save = join(dir, 'bad-cams');
    const r = await capture(() => main(['generate', '--dataset', root, '--save', save, ...vitArgs()]));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*b\.png: /);
    expect(r.err).toMatch(/error: .*d\.jpg: /);
    expect(r.err).toContain('2 written, 0 skipped (--resume), 2 failed');
    expect(readdirSync(save).filter((f) => f.endsWith('.json')).sort()).toEqual(['Grey-billed Finch_a.json', 'Grey-billed Finch_c.json']);
    // visualize on the same folder: the two without CAMs are reported, the others drawn, exit 1
    const v = await capture(() => main(['visualize', '--dataset', root, '--cams', save, '--save', join(dir, 'bad-vis')]));
    expect(v.code).toBe(1);
    expect(readdirSync(join(dir, 'bad-vis')).sort()).toEqual(['Grey-billed Finch_a.png', 'Grey-billed Finch_c.png']);
    expect(v.err).toContain('visualize: 2 strips written');
  });

  it('usage errors: one line on stderr, exit code 2', async () => {
    const wrongHead = join(dir, 'wrong-head.safetensors');
    await writeClassifier(wrongHead, 3, 8, 1);
    const emptyDir = join(dir, 'empty');
    mkdirSync(emptyDir, { recursive: true });
    const numberJson = join(dir, 'number.json');
    writeFileSync(numberJson, '42');
    const badVitJson = join(dir, 'bad-vit.json');
    writeFileSync(badVitJson, JSON.stringify({ patchSize: 14, embedDim: 15, numHeads: 2 }));
    const junkWeights = join(dir, 'junk.safetensors');
    writeFileSync(junkWeights, 'not a safetensors file at all');
    const gen = (extra: string[]) => ['generate', '--dataset', ds, '--save', join(dir, 'never'), ...extra];
    const cases: [string[], RegExp][] = [
      [['generate', '--dataset', join(dir, 'missing'), '--save', join(dir, 'never'), ...vitArgs()], /^finercam generate: --dataset '.*missing' does not exist$/],
      [gen(['--model', 'vit_huge14']), /^finercam generate: unknown --model 'vit_huge14'; use a preset \(dinov2_vits14, .*resnet152\) or an options \.json file$/],
      [gen(['--model', join(dir, 'absent.json')]), /^finercam generate: --model '.*absent\.json' is neither a preset/],
      [gen(['--model', vit.model, '--weights', join(dir, 'absent.safetensors')]), /--weights file '.*absent\.safetensors' does not exist/],
      [gen(['--model', vit.model, '--weights', vit.weights, '--classifier', wrongHead]), /--classifier weight is 3×8 but the backbone's features have 16 dimensions/],
      [gen([...vitArgs(), '--modes', 'baseline,finer-max']), /unknown mode 'finer-max' in --modes/],
      [gen([...vitArgs(), '--bogus']), /^finercam generate: unknown option --bogus/],
      [gen([...vitArgs(), '--max-size', 'big']), /--max-size must be a number, got 'big'/],
      [['generate', '--dataset', ds, ...vitArgs()], /--save is required/],
      [['generate', '--dataset', emptyDir, '--save', join(dir, 'never'), ...vitArgs()], /^finercam generate: no images \(\.jpg \.jpeg \.png \.bmp\) found in '.*empty'$/],
      [gen(['--model', numberJson]), /^finercam generate: --model '.*number\.json' must hold a JSON object of model options$/],
      [gen(['--model', badVitJson]), /^finercam generate: --model '.*bad-vit\.json': Attention: dim \(15\) must be divisible by numHeads \(2\)$/],
      [gen(['--model', vit.model, '--weights', junkWeights]), /^finercam generate: --weights file '.*junk\.safetensors' cannot be read: safetensors: /],
      [gen(['--model', vit.model, '--weights', vit.weights, '--target-layer', 'blocks.9']), /^finercam generate: --target-layer .*'blocks.9' not found/],
      [['frobnicate'], /^finercam: unknown command 'frobnicate'/],
      [['train-probe', '--dataset', ds, '--model', vit.model, '--out', join(dir, 'never', 'p.pt')], /^finercam train-probe: --out must be a \.safetensors file, got '.*p\.pt'$/],
      [['train-probe', '--dataset', join(dir, 'missing'), '--model', vit.model, '--out', join(dir, 'never', 'p.safetensors')], /^finercam train-probe: --dataset '.*missing' is not a folder$/],
      [['explain', join(dir, 'nothing.png'), ...vitArgs()], /^finercam explain: cannot read '.*nothing\.png'/],
      [['visualize', '--dataset', join(dir, 'missing'), '--cams', dir, '--save', join(dir, 'never')], /^finercam visualize: --dataset '.*missing' does not exist$/],
    ];
    for (const [argv, re] of cases) {
      const r = await capture(() => main(argv));
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.errorCalls, argv.join(' ')).toHaveLength(1);
      expect(r.errorCalls[0]).not.toContain('\n');
      expect(r.errorCalls[0]).toMatch(re);
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});

describe('train-probe → generate --classifier', () => {
  let probe: string;
  let probeRun: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    const root = join(dir, 'probe-ds');
    for (const [split, n] of [['train', 3], ['val', 2]] as const) {
      for (let i = 0; i < n; i++) {
        writeImage(join(root, split, 'Grey-billed Finch', `g${i}.png`), bird(0, 100 + i + (split === 'val' ? 50 : 0), 40, 36));
        writeImage(join(root, split, 'Orange-billed Finch', `o${i}.png`), bird(1, 200 + i + (split === 'val' ? 50 : 0), 36, 40));
      }
    }
    probe = join(dir, 'probe', 'finches.safetensors');
    // defaults (224 crops, Resize 256, ImageNet norm, Adam 3e-4, batch 128, seed 42) except the epoch count
    probeRun = await capture(() => main(['train-probe', '--dataset', root, '--model', vit.model, '--weights', vit.weights, '--out', probe, '--cache-features', '--epochs', '2']));
  });

  it('trains 2 epochs on cached features and saves the head with its normalisation', async () => {
    expect(probeRun.code).toBe(0);
    const epochLines = probeRun.out.split('\n').filter((l) => /^epoch \d\/2 {2}train loss [\d.]+ acc [\d.]+% {2}val loss [\d.]+ acc [\d.]+%/.test(l));
    expect(epochLines).toHaveLength(2);
    expect(probeRun.err).toContain('6 train / 4 val images, 2 classes (train/ + val/)');
    expect(probeRun.err).toMatch(/train-probe features: 10\/10/);
    const bytes = read(probe);
    const dict = await F.loadSafetensors(bytes);
    const meta = await F.loadSafetensorsMetadata(bytes);
    expect(Object.keys(dict).sort()).toEqual(['bias', 'weight']);
    expect(dict.weight.shape).toEqual([2, 16]);
    expect(meta.norm).toBe('imagenet');
    expect(JSON.parse(meta.classes)).toEqual(['Grey-billed Finch', 'Orange-billed Finch']);
    expect(meta.epochs).toBe('2');
    expect(meta.crop_size).toBe('224');
    expect(meta.lr).toBe('0.0003');
    expect(meta.batch_size).toBe('128');
    expect(meta.seed).toBe('42');
    const best = epochLines[Number(meta.best_epoch) - 1];
    expect(best).toContain(`val loss ${Number(meta.val_loss).toFixed(4)} acc ${(100 * Number(meta.val_accuracy)).toFixed(2)}%  (best so far)`);
    expect(JSON.parse(readFileSync(join(dir, 'probe', 'finches.classes.json'), 'utf8'))).toEqual(['Grey-billed Finch', 'Orange-billed Finch']);
  });

  it('generate --classifier uses the saved normalisation unless --norm is given', async () => {
    const img = join(dir, 'one');
    mkdirSync(join(img, 'Orange-billed Finch'), { recursive: true });
    copyFileSync(join(ds, 'Orange billed finch', 'o1.png'), join(img, 'Orange-billed Finch', 'o1.png'));
    const logits = async (name: string, extra: string[]) => {
      const save = join(dir, `probe-cams-${name}`);
      const r = await capture(() => main(['generate', '--dataset', img, '--save', save, '--model', vit.model, '--weights', vit.weights, '--classifier', probe,
        '--classes', join(dir, 'probe', 'finches.classes.json'), '--modes', 'baseline', ...extra]));
      expect(r.code).toBe(0);
      const s = sidecar(save, 'Orange-billed Finch_o1');
      expect(s.targetIdx).toBe(1);
      expect(s.modes.baseline.mainName).toBe('Orange-billed Finch');
      return s.logits;
    };
    const dflt = await logits('default', []);
    const imagenet = await logits('imagenet', ['--norm', 'imagenet']);
    const clip = await logits('clip', ['--norm', 'clip']);
    expect(dflt).toHaveLength(2);
    expect(dflt).toEqual(imagenet);
    expect(Math.max(...dflt.map((v, i) => Math.abs(v - clip[i])))).toBeGreaterThan(1e-4);
  });
});
