// train-probe: the seed's transforms (exact numbers), the ImageFolder splits, and the trainer itself on tiny
// datasets with a tiny random ViT (it learns a separable task, is deterministic, reports bad images, saves
// what generate needs). The full CLI round trip (train → generate --classifier) is in e2e.test.ts.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import { trainProbe } from '../../cli/commands/train-probe';
import { UsageError } from '../../cli/args';
import { findSplits } from '../../cli/train/image-folder';
import {
  centerCrop, centerCropBox, evalTransform, hflip, pyRound, randomResizedCropParams, shorterSideSize, trainTransform, writeNormalized,
} from '../../cli/train/transforms';
import { capture, flat, removeTempDirs, tempDir, writeImage, writeTinyResnet, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

/** A generator that returns the given values in turn (then repeats the last). */
function fixedRng(values: number[]): { uniform: () => number } {
  let i = 0;
  return { uniform: () => values[Math.min(i++, values.length - 1)] };
}

describe('transforms (torchvision semantics)', () => {
  it('pyRound rounds halves to even, like Python', () => {
    expect([0.5, 1.5, 2.5, 58.5, 59.5, -0.5, -1.5, 2.4999, 2.5001].map(pyRound)).toEqual([0, 2, 2, 58, 60, 0, -2, 2, 3]);
  });

  it('Resize(int) sizes the shorter side and floors the longer', () => {
    expect(shorterSideSize(64, 48, 256)).toEqual({ width: 341, height: 256 }); // int(256·64/48) = int(341.33)
    expect(shorterSideSize(48, 64, 256)).toEqual({ width: 256, height: 341 });
    expect(shorterSideSize(100, 100, 256)).toEqual({ width: 256, height: 256 });
    expect(shorterSideSize(500, 375, 256)).toEqual({ width: 341, height: 256 });
  });

  it('CenterCrop offsets use round-half-even', () => {
    expect(centerCropBox(341, 256, 224)).toEqual({ left: 58, top: 16 }); // round(58.5) = 58
    expect(centerCropBox(227, 225, 224)).toEqual({ left: 2, top: 0 }); // round(1.5) = 2, round(0.5) = 0
  });

  it('CenterCrop pads a small image with black, (W − w)//2 on the left', () => {
    const img = flat([200, 100, 50], 1, 3, 2);
    const c = centerCrop(img, 4);
    expect([c.width, c.height]).toEqual([4, 4]);
    // rows 1..2, cols 0..2 hold the image (padL = (4−3)//2 = 0, padT = (4−2)//2 = 1)
    const px = (x: number, y: number) => Array.from(c.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([0, 0, 0]);
    expect(px(3, 1)).toEqual([0, 0, 0]);
    expect(px(0, 1)).toEqual(Array.from(img.data.subarray(0, 3)));
    expect(px(2, 2)).toEqual(Array.from(img.data.subarray(15, 18)));
  });

  it('evalTransform = bicubic shorter-side resize then centre crop', () => {
    const img = flat([30, 160, 220], 2, 64, 48);
    const out = evalTransform(img, 224, 256);
    const resized = F.resizeBicubicPil(img, 341, 256);
    expect([out.width, out.height]).toEqual([224, 224]);
    for (const [x, y] of [[0, 0], [223, 223], [100, 57]]) {
      const o = (y * 224 + x) * 3;
      const r = ((y + 16) * 341 + x + 58) * 3;
      expect(Array.from(out.data.subarray(o, o + 3))).toEqual(Array.from(resized.data.subarray(r, r + 3)));
    }
  });

  it('RandomResizedCrop: a 0.5/0.5 draw on a 100×100 image is the 73×73 centre', () => {
    // area 10000·(0.08 + 0.92·0.5) = 5400, aspect exp(mid of log range) = 1 → round(√5400) = 73; offsets ⌊0.5·28⌋ = 14
    expect(randomResizedCropParams(100, 100, fixedRng([0.5]))).toEqual({ top: 14, left: 14, height: 73, width: 73 });
  });

  it('RandomResizedCrop falls back to a clamped-aspect centre crop when 10 tries fail', () => {
    // 1000×10: any crop of ≥ 8% area with aspect ≤ 4/3 is taller than 10 → fallback: h = 10, w = round(10·4/3) = 13
    expect(randomResizedCropParams(1000, 10, fixedRng([0.3]))).toEqual({ top: 0, left: 493, height: 10, width: 13 });
    expect(randomResizedCropParams(10, 1000, fixedRng([0.3]))).toEqual({ top: 493, left: 0, height: 13, width: 10 });
  });

  it('RandomResizedCrop boxes lie inside the image with area ≥ 8% and aspect in [3/4, 4/3] (up to rounding)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 400 }), fc.integer({ min: 8, max: 400 }), fc.integer(), (W, H, seed) => {
        const b = randomResizedCropParams(W, H, F.makeRng(seed));
        expect(b.left).toBeGreaterThanOrEqual(0);
        expect(b.top).toBeGreaterThanOrEqual(0);
        expect(b.left + b.width).toBeLessThanOrEqual(W);
        expect(b.top + b.height).toBeLessThanOrEqual(H);
        expect(b.width).toBeGreaterThan(0);
        expect(b.height).toBeGreaterThan(0);
        const fallback = W / H < 3 / 4 || W / H > 4 / 3 ? true : b.width === W && b.height === H;
        if (!fallback) {
          // rounding moves each side by ≤ 0.5
          expect((b.width + 0.5) * (b.height + 0.5)).toBeGreaterThanOrEqual(0.08 * W * H);
          expect((b.width + 0.5) / Math.max(b.height - 0.5, 0.5)).toBeGreaterThanOrEqual(3 / 4);
          expect((b.width - 0.5) / (b.height + 0.5)).toBeLessThanOrEqual(4 / 3);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hflip mirrors rows and is its own inverse', () => {
    const img = flat([10, 20, 30], 3, 5, 3);
    const f = hflip(img);
    expect(Array.from(f.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray(12, 15)));
    expect(Array.from(hflip(f).data)).toEqual(Array.from(img.data));
  });

  it('trainTransform gives size×size, is seeded, and flips about half the time', () => {
    const img = flat([90, 120, 200], 4, 50, 40);
    const a = trainTransform(img, 24, F.makeRng(7));
    const b = trainTransform(img, 24, F.makeRng(7));
    expect([a.width, a.height]).toEqual([24, 24]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    // 4 uniforms per successful draw + 1 for the flip; count flips over many draws
    const rng = F.makeRng(11);
    let flips = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      randomResizedCropParams(50, 40, rng);
      if (rng.uniform() < 0.5) flips++;
    }
    expect(flips / n).toBeGreaterThan(0.4);
    expect(flips / n).toBeLessThan(0.6);
  });

  it('writeNormalized matches the library imageToTensor bit for bit', async () => {
    const img = flat([128, 64, 250], 5, 6, 4);
    for (const norm of [F.NORMALIZATIONS.imagenet, F.NORMALIZATIONS.clip]) {
      const buf = new Float32Array(2 * 3 * 24);
      writeNormalized(img, norm, buf, 1);
      const ref = (await F.imageToTensor(img, norm).data()) as Float32Array;
      expect(Array.from(buf.subarray(72))).toEqual(Array.from(ref));
      expect(buf.subarray(0, 72).every((v) => v === 0)).toBe(true);
    }
  });
});

describe('ImageFolder splits', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir('splits');
    for (const [split, cls, n] of [['train', 'b', 2], ['train', 'a', 3], ['val', 'a', 1], ['val', 'b', 1], ['val', 'zz', 1]] as const) {
      for (let i = 0; i < n; i++) writeImage(join(root, 'ds', split, cls, `${i}.png`), flat([i * 40, 0, 0], i, 4, 4));
    }
    writeFileSync(join(root, 'ds', 'train', 'a', 'notes.txt'), 'not an image');
    for (const cls of ['B', 'a', 'C']) for (let i = 0; i < 5; i++) writeImage(join(root, 'flat', cls, `${i}.png`), flat([0, 0, i], i, 4, 4));
  });

  it('classes are the sorted train folders; val images of unknown classes are set aside', async () => {
    const s = await findSplits(join(root, 'ds'), F.makeRng(1), 't');
    expect(s.classes).toEqual(['a', 'b']);
    expect(s.train.map((x) => [relative(join(root, 'ds'), x.path), x.label])).toEqual([
      ['train/a/0.png', 0], ['train/a/1.png', 0], ['train/a/2.png', 0], ['train/b/0.png', 1], ['train/b/1.png', 1],
    ]);
    expect(s.val.map((x) => x.label)).toEqual([0, 1]);
    expect(s.unknownClassImages.map((p) => relative(join(root, 'ds'), p))).toEqual(['val/zz/0.png']);
    expect(s.describe).toBe('train/ + val/');
  });

  it('without split folders: code-point class order and a seeded 80/20 split', async () => {
    const s = await findSplits(join(root, 'flat'), F.makeRng(3), 't');
    expect(s.classes).toEqual(['B', 'C', 'a']); // Python sorted(): upper case first
    expect(s.train).toHaveLength(12);
    expect(s.val).toHaveLength(3);
    const all = [...s.train, ...s.val].map((x) => x.path).sort();
    expect(new Set(all).size).toBe(15);
    const again = await findSplits(join(root, 'flat'), F.makeRng(3), 't');
    expect(again.val.map((x) => x.path)).toEqual(s.val.map((x) => x.path));
    const other = await findSplits(join(root, 'flat'), F.makeRng(4), 't');
    expect(other.val.map((x) => x.path)).not.toEqual(s.val.map((x) => x.path));
  });
});

describe('train-probe', () => {
  let dir: string;
  let vit: { model: string; weights: string };
  let resnet: { model: string; weights: string };
  beforeAll(async () => {
    dir = tempDir('probe');
    vit = await writeTinyVit(dir);
    resnet = await writeTinyResnet(dir);
    // Separable: reddish vs bluish images of assorted sizes.
    for (const [split, n] of [['train', 6], ['val', 3]] as const) {
      for (let i = 0; i < n; i++) {
        writeImage(join(dir, 'ds', split, 'red', `r${i}.png`), flat([200, 40 + 10 * i, 40], 100 + i, 30 + i, 26));
        writeImage(join(dir, 'ds', split, 'blue', `b${i}.png`), flat([40, 60, 190 + 5 * i], 200 + i, 28, 30 + 2 * i));
      }
    }
  });

  const common = () => ['--dataset', join(dir, 'ds'), '--model', vit.model, '--weights', vit.weights, '--crop-size', '28', '--resize-size', '32'];

  it('--cache-features learns a separable task; saves the best-val head with its metadata', async () => {
    const out = join(dir, 'sep', 'probe.safetensors');
    const r = await capture(() => trainProbe([...common(), '--cache-features', '--epochs', '25', '--lr', '0.05', '--batch-size', '4', '--out', out]));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => l.startsWith('epoch'));
    expect(lines).toHaveLength(25);
    const parse = (l: string) => {
      const m = /train loss ([\d.]+) acc ([\d.]+)%\s+val loss ([\d.]+) acc ([\d.]+)%/.exec(l)!;
      return { trainLoss: +m[1], trainAcc: +m[2], valLoss: +m[3], valAcc: +m[4] };
    };
    const first = parse(lines[0]);
    const last = parse(lines[24]);
    expect(last.trainLoss).toBeLessThan(first.trainLoss * 0.5);
    expect(last.trainAcc).toBe(100);
    expect(last.valAcc).toBe(100);
    const bytes = new Uint8Array(readFileSync(out));
    const dict = await F.loadSafetensors(bytes);
    const meta = await F.loadSafetensorsMetadata(bytes);
    expect(dict.weight.shape).toEqual([2, 16]);
    expect(dict.bias.shape).toEqual([2]);
    expect(meta.norm).toBe('imagenet');
    expect(JSON.parse(meta.classes)).toEqual(['blue', 'red']);
    expect(JSON.parse(readFileSync(join(dir, 'sep', 'probe.classes.json'), 'utf8'))).toEqual(['blue', 'red']);
    expect(meta.epochs).toBe('25');
    expect(meta.val_accuracy).toBe('1');
    expect(meta.backbone).toBe(vit.model);
    expect(meta.pool).toBe('patch-mean');
    // The best epoch is the first one that reached 100% val accuracy (ties keep the earlier head).
    const firstBest = lines.findIndex((l) => parse(l).valAcc === 100) + 1;
    expect(meta.best_epoch).toBe(String(firstBest));
    expect(lines[firstBest - 1]).toContain('(best so far)');
    // A head is saved exactly at the epochs where the val accuracy beats every earlier epoch.
    const saved = lines.map((l) => l.includes('(best so far)'));
    const records = lines.map((l, i) => i === 0 || parse(l).valAcc > Math.max(...lines.slice(0, i).map((x) => parse(x).valAcc)));
    expect(saved).toEqual(records);

    // Recompute the val accuracy and loss independently: eval transform → LinearProbe with the saved head.
    const model = F.visionTransformer({ ...JSON.parse(readFileSync(vit.model, 'utf8')), numClasses: 0 });
    model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(vit.weights))));
    const probe = new F.LinearProbe(model, 2).eval();
    probe.classifier.loadStateDict(dict);
    let correct = 0;
    let loss = 0;
    const classes = ['blue', 'red'];
    for (const [cls, prefix] of [['red', 'r'], ['blue', 'b']] as const) {
      for (let i = 0; i < 3; i++) {
        const img = F.decodeImage(new Uint8Array(readFileSync(join(dir, 'ds', 'val', cls, `${prefix}${i}.png`))));
        const x = F.imageToTensor(evalTransform(img, 28, 32), F.NORMALIZATIONS.imagenet);
        const logits = F.noGrad(() => probe.forward(x));
        const label = classes.indexOf(cls);
        loss += await F.crossEntropy(logits, F.tensor(new Int32Array([label]), [1], { dtype: 'int32' })).item();
        const z = await logits.data();
        if (z[label] > z[1 - label]) correct++;
      }
    }
    expect(correct).toBe(6);
    expect(Math.abs(loss / 6 - Number(meta.val_loss))).toBeLessThan(1e-5);
  });

  it('is deterministic for a seed (whatever the backbone chunking) and changes with it; --norm clip is recorded', async () => {
    const run = async (name: string, extra: string[]) => {
      const out = join(dir, 'det', `${name}.safetensors`);
      const r = await capture(() => trainProbe([...common(), '--cache-features', '--epochs', '3', '--batch-size', '5', '--out', out, ...extra]));
      expect(r.code).toBe(0);
      const bytes = new Uint8Array(readFileSync(out));
      return { w: Array.from(await (await F.loadSafetensors(bytes)).weight.data()), meta: await F.loadSafetensorsMetadata(bytes), out: r.out.split(out).join('<out>').split(out.replace('.safetensors', '')).join('<out>') };
    };
    const a = await run('a', ['--seed', '7']);
    const b = await run('b', ['--seed', '7']);
    const c = await run('c', ['--seed', '8']);
    const d = await run('d', ['--seed', '7', '--norm', 'clip']);
    const e = await run('e', ['--seed', '7', '--backbone-batch', '1']);
    expect(b.w).toEqual(a.w);
    expect(e.w).toEqual(a.w); // the backbone's chunking changes nothing
    expect(b.out).toBe(a.out);
    expect(c.w).not.toEqual(a.w);
    expect(d.w).not.toEqual(a.w);
    expect(a.meta.norm).toBe('imagenet');
    expect(d.meta.norm).toBe('clip');
    expect(a.meta.seed).toBe('7');
  });

  it('with augmentation (default): a corrupt training image is reported once, the rest train, exit code 1', async () => {
    const ds = join(dir, 'ds-bad');
    for (const cls of ['red', 'blue']) {
      for (const split of ['train', 'val']) {
        for (let i = 0; i < 2; i++) writeImage(join(ds, split, cls, `${i}.png`), flat(cls === 'red' ? [200, 30, 30] : [30, 30, 200], i, 20, 22));
      }
    }
    mkdirSync(join(ds, 'train', 'red'), { recursive: true });
    writeFileSync(join(ds, 'train', 'red', 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const out = join(dir, 'aug', 'probe.safetensors');
    const r = await capture(() => trainProbe(['--dataset', ds, '--model', vit.model, '--weights', vit.weights, '--crop-size', '28', '--resize-size', '32', '--epochs', '2', '--batch-size', '3', '--out', out]));
    expect(r.code).toBe(1);
    expect(r.out.split('\n').filter((l) => l.startsWith('epoch'))).toHaveLength(2);
    expect(r.err.split('\n').filter((l) => l.startsWith('error:') && l.includes('broken.png'))).toHaveLength(1);
    expect(r.err).toMatch(/failed: .*broken\.png/);
    const meta = await F.loadSafetensorsMetadata(new Uint8Array(readFileSync(out)));
    expect(meta.augmentation).toBe('RandomResizedCrop+RandomHorizontalFlip');
    expect(meta.val_images).toBe('4');
  });

  it('stops with exit code 1 and a clear message when no validation image can be read', async () => {
    const ds = join(dir, 'ds-noval');
    writeImage(join(ds, 'train', 'red', '0.png'), flat([200, 30, 30], 0, 20, 20));
    writeImage(join(ds, 'train', 'blue', '0.png'), flat([30, 30, 200], 0, 20, 20));
    mkdirSync(join(ds, 'val', 'red'), { recursive: true });
    writeFileSync(join(ds, 'val', 'red', 'x.png'), new Uint8Array(0));
    const out = join(dir, 'noval', 'p.safetensors');
    const r = await capture(() => trainProbe(['--dataset', ds, '--model', vit.model, '--weights', vit.weights, '--crop-size', '28', '--resize-size', '28', '--cache-features', '--out', out]));
    expect(r.code).toBe(1);
    expect(r.errorCalls).toContain('train-probe: no validation image could be read; nothing was trained');
    expect(r.err).toMatch(/failed: .*x\.png: /);
    expect(r.out).not.toMatch(/^epoch/m);
    expect(existsSync(out)).toBe(false);
  });

  it('stops with exit code 1 when the loss stops being finite, saving no broken head', async () => {
    const out = join(dir, 'diverge', 'p.safetensors');
    // Adam moves each weight by about lr per step: 1e39 overflows float32, so after the first step the logits are not finite.
    const r = await capture(() => trainProbe([...common(), '--cache-features', '--epochs', '5', '--lr', '1e39', '--out', out]));
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(/^epoch/m);
    expect(r.err).toContain('train-probe: the validation loss became NaN in epoch 1; stopping (try a smaller --lr); no classifier was saved');
    expect(existsSync(out)).toBe(false);
  });

  it('splits 80/20 when there are no split folders', async () => {
    const ds = join(dir, 'ds-flat');
    for (let i = 0; i < 5; i++) {
      writeImage(join(ds, 'red', `${i}.png`), flat([200, 30, 30], i, 20, 20));
      writeImage(join(ds, 'blue', `${i}.png`), flat([30, 30, 200], i, 20, 20));
    }
    const out = join(dir, 'flat', 'p.safetensors');
    const r = await capture(() => trainProbe(['--dataset', ds, '--model', vit.model, '--weights', vit.weights, '--crop-size', '28', '--resize-size', '28', '--cache-features', '--epochs', '1', '--out', out]));
    expect(r.code).toBe(0);
    expect(r.err).toContain('8 train / 2 val images, 2 classes (80/20 random split');
    const meta = await F.loadSafetensorsMetadata(new Uint8Array(readFileSync(out)));
    expect([meta.train_images, meta.val_images]).toEqual(['8', '2']);
  });

  it('bad arguments are one-line UsageErrors (main turns them into exit code 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--dataset', join(dir, 'ds'), '--model', vit.model, '--out', join(dir, 'x.bin')], /--out must be a \.safetensors file/],
      [['--dataset', join(dir, 'nope'), '--model', vit.model, '--out', join(dir, 'x.safetensors')], /--dataset '.*nope' is not a folder/],
      [['--dataset', join(dir, 'ds'), '--model', resnet.model, '--weights', resnet.weights, '--out', join(dir, 'x.safetensors')], /--model must be a ViT backbone/],
      [['--dataset', join(dir, 'ds'), '--model', vit.model, '--epochs', '0', '--out', join(dir, 'x.safetensors')], /--epochs must be a positive integer/],
      [['--dataset', join(dir, 'ds'), '--model', vit.model, '--lr', '-1', '--out', join(dir, 'x.safetensors')], /--lr must be positive/],
      [['--dataset', join(dir, 'ds'), '--model', 'vit_huge', '--out', join(dir, 'x.safetensors')], /unknown --model 'vit_huge'/],
      [['--dataset', join(dir, 'ds'), '--model', vit.model], /--out is required/],
      [['--dataset', join(dir, 'ds', 'train', 'red'), '--model', vit.model, '--out', join(dir, 'x.safetensors')], /at least two classes/],
    ];
    for (const [argv, re] of cases) {
      const err = await capture(() => trainProbe(argv)).then(() => null, (e: unknown) => e);
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      const msg = (err as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(re);
      expect(msg.startsWith('train-probe: ')).toBe(true);
    }
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });
});
