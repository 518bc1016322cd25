// train-probe as a user meets it when things go wrong: options checked before anything is loaded or
// written, the classifier and its classes.json written together at the end (an interrupted run leaves
// the previous pair untouched), and --cache-features kept on disk so a rerun after Ctrl-C passes only
// the remaining images through the backbone. Interruptions are simulated by making the backbone throw.
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, flat, removeTempDirs, tempDir, writeImage, writeTinyResnet, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);
afterEach(() => vi.restoreAllMocks());

let dir: string;
let vit: { model: string; weights: string };
let junk: string;
beforeAll(async () => {
  dir = tempDir('probe-safety');
  vit = await writeTinyVit(dir);
  junk = join(dir, 'junk.safetensors');
  writeFileSync(junk, 'not weights');
});

/** train/ and val/ with the given classes; n training and 1 validation image per class. */
function dataset(name: string, classes: string[], n: number): string {
  const root = join(dir, name);
  classes.forEach((c, k) => {
    for (let i = 0; i < n; i++) writeImage(join(root, 'train', c, `${i}.png`), flat([60 * k, 200 - 60 * k, 40 + 10 * i], 10 * k + i, 28 + i, 30));
    writeImage(join(root, 'val', c, 'v.png'), flat([60 * k, 200 - 60 * k, 90], 100 + k, 30, 28));
  });
  return root;
}

/** Counts the images passed through the backbone; throws (like a Ctrl-C) on call `dieAt` if given. */
function watchBackbone(dieAt?: number): { images: number; calls: number } {
  const seen = { images: 0, calls: 0 };
  const original = F.LinearProbe.prototype.features;
  vi.spyOn(F.LinearProbe.prototype, 'features').mockImplementation(function (this: F.LinearProbe, x: F.Tensor) {
    seen.calls++;
    if (seen.calls === dieAt) throw new Error('interrupted');
    seen.images += x.shape[0];
    return original.call(this, x);
  });
  return seen;
}

const probe = (ds: string, out: string, ...extra: string[]) =>
  capture(() => main(['train-probe', '--dataset', ds, '--model', vit.model, '--weights', vit.weights, '--crop-size', '28', '--resize-size', '28', '--epochs', '2', '--out', out, ...extra]));
const bytes = (p: string) => Buffer.from(readFileSync(p)).toString('base64');
function filesUnder(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

describe('train-probe checks every option before loading anything', () => {
  async function usageError(argv: string[], re: RegExp): Promise<void> {
    const r = await capture(() => main(['train-probe', ...argv]));
    expect(r.code, argv.join(' ')).toBe(2);
    expect(r.errorCalls, argv.join(' ')).toHaveLength(1);
    expect(r.errorCalls[0]).not.toContain('\n');
    expect(r.errorCalls[0]).toMatch(re);
  }

  it('--crop-size not a multiple of the patch size: exit 2 up front (weights unread), nothing written', async () => {
    const ds = dataset('crop', ['a', 'b'], 1);
    const out = join(dir, 'never', 'p.safetensors');
    await usageError(['--dataset', ds, '--model', vit.model, '--weights', junk, '--crop-size', '100', '--out', out],
      /^finercam train-probe: --crop-size must be a multiple of the patch size 14 of '.*vit\.json', got 100 \(e\.g\. 98 or 112\)$/);
    // a preset is known by name: no 22M-parameter model is built to find this out
    const t0 = Date.now();
    await usageError(['--dataset', ds, '--model', 'dinov2_vits14', '--crop-size', '100', '--cache-features', '--out', out], /--crop-size must be a multiple of the patch size 14 of 'dinov2_vits14', got 100/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a ResNet, a folder or a path below a file as --out, and a bad --cache-dir are exit 2 before the weights are read', async () => {
    const ds = dataset('opts', ['a', 'b'], 1);
    const resnet = await writeTinyResnet(dir);
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const folder = join(dir, 'a-folder.safetensors');
    mkdirSync(folder, { recursive: true });
    const base = ['--dataset', ds, '--weights', junk];
    await usageError([...base, '--model', resnet.model, '--out', join(dir, 'never', 'p.safetensors')], /--model must be a ViT backbone .*'.*resnet\.json' is a resnet$/);
    await usageError([...base, '--model', 'resnet18', '--out', join(dir, 'never', 'p.safetensors')], /--model must be a ViT backbone .*'resnet18' is a resnet$/);
    await usageError([...base, '--model', vit.model, '--out', folder], /^finercam train-probe: --out '.*a-folder\.safetensors' is a folder; expected a file name$/);
    await usageError([...base, '--model', vit.model, '--out', join(file, 'p.safetensors')], /--out '.*p\.safetensors' cannot be created: '.*plain-file' is a file, not a folder$/);
    await usageError([...base, '--model', vit.model, '--cache-features', '--cache-dir', file, '--out', join(dir, 'never', 'p.safetensors')], /--cache-dir '.*plain-file' is a file; expected a folder/);
    await usageError([...base, '--model', vit.model, '--cache-dir', join(dir, 'never', 'c'), '--out', join(dir, 'never', 'p.safetensors')], /^finercam train-probe: --cache-dir is only used with --cache-features$/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('train-probe writes its outputs together at the end', () => {
  it('an interrupted run leaves the previous classifier and classes.json as they were', async () => {
    const out = join(dir, 'pair', 'probe.safetensors');
    const classes = join(dir, 'pair', 'probe.classes.json');
    const two = dataset('two', ['blue', 'red'], 2);
    expect((await probe(two, out, '--cache-features')).code).toBe(0);
    const before = [bytes(out), bytes(classes)];
    expect(JSON.parse(readFileSync(classes, 'utf8'))).toEqual(['blue', 'red']);

    // another class list, interrupted while extracting features
    const three = dataset('three', ['blue', 'green', 'red'], 2);
    watchBackbone(1);
    const r1 = await probe(three, out, '--cache-features');
    expect(r1.code).toBe(1);
    expect([bytes(out), bytes(classes)]).toEqual(before);
    vi.restoreAllMocks();

    // interrupted in the second epoch (augmented: backbone calls are val, epoch 1, epoch 2)
    watchBackbone(3);
    const r2 = await probe(two, out, '--seed', '7', '--epochs', '3');
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/^epoch 1\/3 .*\(best so far\)$/m);
    expect([bytes(out), bytes(classes)]).toEqual(before);
    expect(readdirSync(join(dir, 'pair')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a run that stops on a non-finite loss after a good epoch saves that epoch\'s head and its classes', async () => {
    const out = join(dir, 'nan', 'p.safetensors');
    const two = dataset('two-nan', ['blue', 'red'], 2);
    // epoch 1 trains with a sane lr; from then on Adam's lr is huge and the loss overflows
    let steps = 0;
    const step = F.Adam.prototype.step;
    vi.spyOn(F.Adam.prototype, 'step').mockImplementation(function (this: F.Adam) {
      if (++steps > 1) this.lr = 1e39;
      return step.call(this);
    });
    const r = await probe(two, out, '--cache-features', '--epochs', '4');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/loss became (NaN|Infinity) in epoch \d; stopping \(try a smaller --lr\); .*p\.safetensors holds the head of epoch 1$/m);
    const meta = await F.loadSafetensorsMetadata(new Uint8Array(readFileSync(out)));
    expect(meta.best_epoch).toBe('1');
    expect(JSON.parse(readFileSync(join(dir, 'nan', 'p.classes.json'), 'utf8'))).toEqual(['blue', 'red']);
  });
});

describe('train-probe --cache-features keeps the features on disk', () => {
  it('a rerun after an interruption passes only the remaining images through the backbone; a third passes none', async () => {
    const ds = dataset('cache', ['blue', 'red'], 6); // 12 train + 2 val images
    const out = join(dir, 'cache-out', 'probe.safetensors');
    const cacheDir = join(dir, 'cache-out', 'probe.features');
    const args = ['--cache-features', '--backbone-batch', '4'];

    const first = watchBackbone(3); // Ctrl-C during the third chunk of 4 training images
    expect((await probe(ds, out, ...args)).code).toBe(1);
    expect(first.images).toBe(8);
    expect(filesUnder(cacheDir)).toHaveLength(8);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'cache-out', 'probe.classes.json'))).toBe(false);
    vi.restoreAllMocks();

    const second = watchBackbone();
    const r2 = await probe(ds, out, ...args);
    expect(r2.code).toBe(0);
    expect(second.images).toBe(6);
    expect(r2.err).toContain(`features of 8 image(s) read from the cache ${cacheDir}, 6 computed`);
    expect(filesUnder(cacheDir)).toHaveLength(14);
    const trained = bytes(out);
    vi.restoreAllMocks();

    const third = watchBackbone();
    const r3 = await probe(ds, out, ...args);
    expect(third.calls).toBe(0);
    expect(r3.err).toContain('features of 14 image(s) read from the cache');
    expect(bytes(out)).toBe(trained); // the cached features are the computed ones, bit for bit
    vi.restoreAllMocks();

    // a changed image, or other crop settings, are not served from the cache
    const t = new Date(Date.now() - 60_000);
    utimesSync(join(ds, 'train', 'red', '0.png'), t, t);
    const touched = watchBackbone();
    await probe(ds, out, ...args);
    expect(touched.images).toBe(1);
    vi.restoreAllMocks();
    const other = watchBackbone();
    const custom = join(dir, 'my-cache');
    const r5 = await probe(ds, out, ...args, '--crop-size', '42', '--cache-dir', custom);
    expect(r5.code).toBe(0);
    expect(other.images).toBe(14);
    expect(filesUnder(custom)).toHaveLength(14);
  });

  it('a damaged cache file is recomputed', async () => {
    const ds = dataset('cache2', ['blue', 'red'], 1);
    const out = join(dir, 'cache2-out', 'p.safetensors');
    expect((await probe(ds, out, '--cache-features')).code).toBe(0);
    const cacheDir = join(dir, 'cache2-out', 'p.features');
    const sub = readdirSync(cacheDir)[0];
    const f = readdirSync(join(cacheDir, sub))[0];
    writeFileSync(join(cacheDir, sub, f), new Uint8Array(10));
    const w = watchBackbone();
    expect((await probe(ds, out, '--cache-features')).code).toBe(0);
    expect(w.images).toBe(1);
  });
});
