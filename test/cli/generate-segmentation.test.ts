// generate with a segmentation model (issue 15): a folder of images of different sizes, a region per image
// from --mask-dir (or one for all from --mask), --target-class, all three modes and --method
// guided-gradcam. The written .npy maps, references, region scores and Guided Grad-CAM PNGs are compared
// with the official package on torchvision's DeepLabV3 (test/fixtures/cam-extras/generate_seg.*, made by
// test/reference/make_cam_extras_fixtures.py), on the cpu, wasm and WebGPU backends; then the bad inputs: a mask of the wrong size, a missing
// mask (that image fails, named; the others are written; nothing earlier is lost), --resume after a mask
// or --target-class change, and the usage errors.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { decodeNpy } from '../../cli/util/npy';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';
import { EXTRAS, segMeta } from '../helpers/seg-fixtures';
import { loadFixture } from '../helpers/fixtures';
import { describeGpu } from '../webgpu/setup';

afterAll(removeTempDirs);

interface GenSegMeta {
  model: string;
  modes: string[];
  images: { source: string; width: number; height: number }[];
  runs: { name: string; targetClass: number | null; mains: number[][]; references: number[][][] }[];
}
const meta = loadFixture<GenSegMeta>('cam-extras/generate_seg.json');
const KEYS = ['A_a', 'A_b', 'B_c'];

let dir: string, spec: string, weights: string, ds: string, masks: string;
let fx: Record<string, F.Tensor>;
const images: F.RgbImage[] = [];
const maskPngs: F.RgbImage[] = [];

/** A mask (0/1 per pixel) as a PNG whose region pixels are coloured, not only white: any non-black pixel counts. */
function maskImage(m: ArrayLike<number>, width: number, height: number): F.RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) if (m[p]) data.set([200, (p * 7) % 256, 30], p * 3);
  return { width, height, data };
}

function writePngFile(path: string, img: F.RgbImage): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, F.encodePng(img));
}

const read = (p: string) => new Uint8Array(readFileSync(p));
const sidecar = (save: string, key: string) => JSON.parse(readFileSync(join(save, `${key}.json`), 'utf8'));

beforeAll(async () => {
  dir = tempDir('gen-seg');
  const m = segMeta.models.find((s) => s.name === meta.model)!;
  spec = join(dir, 'tiny.json');
  writeFileSync(spec, JSON.stringify({ kind: 'deeplabv3', layers: m.layers, widths: m.widths, numClasses: m.numClasses, asppChannels: m.asppChannels, atrousRates: m.atrousRates }));
  const data = await F.loadSafetensors(read(join(EXTRAS, `seg_${meta.model}.safetensors`)));
  const sd: Record<string, F.Tensor> = {};
  for (const [k, v] of Object.entries(data)) if (k.startsWith('model.')) sd[k.slice(6)] = v;
  weights = join(dir, 'tiny.safetensors');
  writeFileSync(weights, await F.saveSafetensors(sd));
  fx = await F.loadSafetensors(read(join(EXTRAS, 'generate_seg.safetensors')));
  ds = join(dir, 'ds');
  masks = join(dir, 'masks');
  for (let i = 0; i < meta.images.length; i++) {
    const { source, width, height } = meta.images[i];
    images.push({ width, height, data: Uint8Array.from(await fx[`image_${i}`].data()) });
    maskPngs.push(maskImage(await fx[`mask_${i}`].data(), width, height));
    writePngFile(join(ds, source), images[i]);
    writePngFile(join(masks, source), maskPngs[i]);
  }
});

const base = (save: string, ...extra: string[]) => ['generate', '--dataset', ds, '--save', save, '--model', spec, '--weights', weights, '--backend', 'cpu', ...extra];
const gen = (save: string, ...extra: string[]) => capture(() => main(base(save, ...extra)));

/** The .npy maps of `run` match the package's within float16 rounding; categories, references and region scores exactly / closely. */
async function expectRun(save: string, run: GenSegMeta['runs'][number]): Promise<void> {
  for (let i = 0; i < meta.images.length; i++) {
    const { width, height, source } = meta.images[i];
    const s = sidecar(save, KEYS[i]);
    expect(s.source).toBe(source);
    expect(s.targetIdx).toBe(run.targetClass);
    expect(s.targetClass).toBe(run.targetClass);
    expect(s.mask.path).toBe(`../masks/${source}`);
    const scores = Array.from(await fx[`${run.name}_${i}_scores`].data());
    expect(s.logits).toHaveLength(scores.length);
    s.logits.forEach((v: number, k: number) => expect(Math.abs(v - scores[k]), `${KEYS[i]} region score ${k}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(scores[k]))));
    for (let j = 0; j < meta.modes.length; j++) {
      const mode = meta.modes[j];
      expect(s.modes[mode].mainCategory).toBe(run.mains[i][j]);
      expect(s.modes[mode].referenceCategories).toEqual(run.references[i][j]);
      const arr = decodeNpy(read(join(save, `${KEYS[i]}.${mode}.npy`)));
      expect(arr.dtype).toBe('float16');
      expect(arr.shape).toEqual([height, width]);
      const want = await fx[`${run.name}_${i}_${mode}`].data();
      let worst = 0;
      for (let p = 0; p < want.length; p++) worst = Math.max(worst, Math.abs((arr.data as Float32Array)[p] - want[p]));
      expect(worst, `${KEYS[i]} ${mode}`).toBeLessThan(2e-3);
    }
  }
}

/** The Guided Grad-CAM PNGs of the 'top' run: each byte within 1 of the package's, and few off at all. */
async function expectGuided(save: string): Promise<void> {
  for (let i = 0; i < meta.images.length; i++) {
    const { width, height } = meta.images[i];
    for (const mode of meta.modes) {
      const name = `${KEYS[i]}.${mode}.guided.png`;
      expect(sidecar(save, KEYS[i]).modes[mode].guided).toBe(name);
      const png = F.decodePng(read(join(save, name)));
      expect([png.width, png.height]).toEqual([width, height]);
      const want = await fx[`guided_${i}_${mode}`].data();
      // 8-bit output of float maths: a value may land on the other side of a rounding boundary
      let off = 0;
      for (let p = 0; p < want.length; p++) {
        const d = Math.abs(png.data[p] - want[p]);
        expect(d, `${name}[${p}]`).toBeLessThanOrEqual(1);
        if (d) off++;
      }
      expect(off, name).toBeLessThan(want.length / 50);
    }
  }
}

/** The guided run again with --backend `backend`: the same numbers as the package. */
async function onBackend(backend: 'wasm' | 'webgpu'): Promise<void> {
  const save = join(dir, `cams-${backend}`);
  const r = await capture(() => main(['generate', '--dataset', ds, '--save', save, '--model', spec, '--weights', weights, '--backend', backend, '--mask-dir', masks, '--method', 'guided-gradcam']));
  expect(r.code, r.err).toBe(0);
  expect(r.err).toContain(`backend ${backend}`);
  await expectRun(save, meta.runs.find((x) => x.name === 'top')!);
  await expectGuided(save);
}

describe('generate with a segmentation model', () => {
  it('--mask-dir and --target-class: the .npy maps, categories and region scores of the official package', async () => {
    const save = join(dir, 'cams-t4');
    const run = meta.runs.find((r) => r.name === 't4')!;
    const r = await gen(save, '--mask-dir', masks, '--target-class', String(run.targetClass));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`regions from --mask-dir '${masks}', class 4`);
    expect(r.err).toContain('3 written, 0 skipped (--resume), 0 failed');
    await expectRun(save, run);
  });

  it('without --target-class (the region\'s top class), with --method guided-gradcam: maps and Guided Grad-CAM PNGs as the package; visualize draws the outputs', async () => {
    const save = join(dir, 'cams-top');
    const run = meta.runs.find((r) => r.name === 'top')!;
    const r = await gen(save, '--mask-dir', masks, '--method', 'guided-gradcam');
    expect(r.code, r.err).toBe(0);
    await expectRun(save, run);
    await expectGuided(save);
    const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', join(dir, 'vis-top')]));
    expect(v.code, v.err).toBe(0);
    expect(readdirSync(join(dir, 'vis-top')).sort()).toEqual(KEYS.map((k) => `${k}.png`));
  });

  it('the same maps, categories and Guided Grad-CAM on the wasm backend', () => onBackend('wasm'));

  it('--mask (one region for every image): an image of another size fails, named; the others are written', async () => {
    const root = join(dir, 'ds-one');
    const save = join(dir, 'cams-one');
    writePngFile(join(root, 'A', 'a.png'), images[0]);
    writePngFile(join(root, 'A', 'a2.png'), images[0]);
    writePngFile(join(root, 'A', 'b.png'), images[1]);
    const region = join(dir, 'region.png');
    writePngFile(region, maskPngs[0]);
    const r = await capture(() => main(['generate', '--dataset', root, '--save', save, '--model', spec, '--weights', weights, '--backend', 'cpu', '--mask', region, '--target-class', '4']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*b\.png: --mask '.*region\.png' is 30×26 but this image is 24×33: --mask is one region for every image/);
    expect(r.err).toContain('2 written, 0 skipped (--resume), 1 failed');
    expect(r.err).toMatch(/failed: .*b\.png: --mask/);
    expect(readdirSync(save).filter((f) => f.endsWith('.json')).sort()).toEqual(['A_a.json', 'A_a2.json']);
    const want = await fx['t4_0_finer-default'].data();
    for (const key of ['A_a', 'A_a2']) {
      const s = sidecar(save, key);
      expect(s.mask.path).toBe('../region.png');
      const arr = decodeNpy(read(join(save, `${key}.finer-default.npy`)));
      for (let p = 0; p < want.length; p++) expect(Math.abs((arr.data as Float32Array)[p] - want[p])).toBeLessThan(2e-3);
    }
  });

  it('--mask-dir: a missing or wrongly sized mask fails that image only, named; its earlier outputs stay', async () => {
    const mdir = join(dir, 'masks-bad');
    const save = join(dir, 'cams-bad');
    meta.images.forEach((im, i) => writePngFile(join(mdir, im.source), maskPngs[i]));
    let r = await gen(save, '--mask-dir', mdir, '--modes', 'baseline');
    expect(r.code, r.err).toBe(0);
    const before = readFileSync(join(save, 'B_c.json'), 'utf8');
    const beforeNpy = readFileSync(join(save, 'B_c.baseline.npy'));
    rmSync(join(mdir, 'B', 'c.png'));
    writePngFile(join(mdir, 'A', 'b.png'), maskPngs[0]); // a.png's mask, 30×26, for the 24×33 image
    r = await gen(save, '--mask-dir', mdir, '--modes', 'baseline');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*c\.png: no mask for this image: '.*masks-bad[\\/]B[\\/]c\.png' does not exist \(--mask-dir/);
    expect(r.err).toMatch(/error: .*b\.png: its mask '.*masks-bad[\\/]A[\\/]b\.png' is 30×26 but the image is 24×33/);
    expect(r.err).toContain('1 written, 0 skipped (--resume), 2 failed');
    // nothing the user had is lost: the failed image's earlier outputs are as they were
    expect(readFileSync(join(save, 'B_c.json'), 'utf8')).toBe(before);
    expect(readFileSync(join(save, 'B_c.baseline.npy')).equals(beforeNpy)).toBe(true);
    expect(existsSync(join(save, 'A_b.json'))).toBe(true);
    // the same with --resume: an image whose mask is gone cannot be vouched for, so it fails again
    r = await gen(save, '--mask-dir', mdir, '--modes', 'baseline', '--resume');
    expect(r.code).toBe(1);
    expect(r.err).toContain('0 written, 1 skipped (--resume), 2 failed');
  });

  it('--resume keeps unchanged outputs and redoes an image whose mask changed, or all after a new --target-class', async () => {
    const mdir = join(dir, 'masks-resume');
    const save = join(dir, 'cams-resume');
    meta.images.forEach((im, i) => writePngFile(join(mdir, im.source), maskPngs[i]));
    const run = (...extra: string[]) => gen(save, '--mask-dir', mdir, '--modes', 'baseline', '--target-class', '4', '--resume', ...extra);
    expect((await run()).err).toContain('3 written, 0 skipped (--resume), 0 failed');
    expect((await run()).err).toContain('0 written, 3 skipped (--resume), 0 failed');
    // a new mask for b (same size, another region)
    const m = new Float32Array(24 * 33);
    for (let y = 2; y < 12; y++) for (let x = 3; x < 20; x++) m[y * 24 + x] = 1;
    writePngFile(join(mdir, 'A', 'b.png'), maskImage(m, 24, 33));
    const old = decodeNpy(read(join(save, 'A_b.baseline.npy'))).data;
    let r = await run();
    expect(r.err).toContain('1 written, 2 skipped (--resume), 0 failed');
    expect(decodeNpy(read(join(save, 'A_b.baseline.npy'))).data).not.toEqual(old);
    // only the mtime of c's mask: the mask may have changed, so it is redone
    utimesSync(join(mdir, 'B', 'c.png'), new Date(), new Date(Date.now() + 5000));
    expect((await run()).err).toContain('1 written, 2 skipped (--resume), 0 failed');
    // a sidecar whose mask record is not what generate writes is not trusted
    const side = sidecar(save, 'A_a');
    writeFileSync(join(save, 'A_a.json'), JSON.stringify({ ...side, mask: { path: side.mask.path, size: 'big' } }));
    expect((await run()).err).toContain('1 written, 2 skipped (--resume), 0 failed');
    // another --target-class: every image again
    r = await gen(save, '--mask-dir', mdir, '--modes', 'baseline', '--target-class', '2', '--resume');
    expect(r.err).toContain('3 written, 0 skipped (--resume), 0 failed');
    expect(sidecar(save, 'A_a').targetClass).toBe(2);
    // --mask naming the very file --mask-dir gave a: the same region, kept (b and c have other sizes: they fail)
    r = await gen(save, '--mask', join(mdir, 'A', 'a.png'), '--modes', 'baseline', '--target-class', '2', '--resume');
    expect(r.code).toBe(1);
    expect(r.err).toContain('0 written, 1 skipped (--resume), 2 failed');
    // a copy elsewhere is another mask file: redone, and recorded
    const copy = join(dir, 'region-a.png');
    writeFileSync(copy, readFileSync(join(mdir, 'A', 'a.png')));
    r = await gen(save, '--mask', copy, '--modes', 'baseline', '--target-class', '2', '--resume');
    expect(r.err).toContain('1 written, 0 skipped (--resume), 2 failed');
    expect(sidecar(save, 'A_a').mask.path).toBe('../region-a.png');
  });

  it('the region is resized with the image when --max-size shrinks it (as the library computes it)', async () => {
    const save = join(dir, 'cams-small');
    const r = await gen(save, '--mask-dir', masks, '--max-size', '20', '--modes', 'finer-compare');
    expect(r.code, r.err).toBe(0);
    const model = new F.SegmentationModel('deeplabv3', { layers: [1, 1, 2, 2], widths: [4, 4, 8, 8], numClasses: 5, asppChannels: 8, atrousRates: [2, 3, 5], auxLoss: true });
    model.loadStateDict(await F.loadSafetensors(read(weights)));
    model.eval();
    const finer = new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] });
    for (let i = 0; i < meta.images.length; i++) {
      const { width, height } = meta.images[i];
      const pre = F.preprocess(images[i], { maxSize: 20, patchSize: 1, norm: F.NORMALIZATIONS.imagenet });
      const [H, W] = [pre.tensor.shape[2], pre.tensor.shape[3]];
      expect(Math.max(H, W)).toBe(20);
      const mask = Float32Array.from(await fx[`mask_${i}`].data());
      const region = new Float32Array(H * W);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) region[y * W + x] = mask[Math.floor((y * height) / H) * width + Math.floor((x * width) / W)];
      const res = await finer.forwardModes({ inputTensor: pre.tensor, masks: [region], modes: [{ alpha: 1, referenceCategoryRanks: [1] }] });
      const c = res.cams[0];
      const full = F.resizeBilinearCv(Float32Array.from(await c.data()), c.shape[2], c.shape[1], 1, width, height);
      const arr = decodeNpy(read(join(save, `${KEYS[i]}.finer-compare.npy`)));
      for (let p = 0; p < full.length; p++) expect(Math.abs((arr.data as Float32Array)[p] - full[p])).toBeLessThan(1e-3);
      expect(sidecar(save, KEYS[i]).modes['finer-compare'].referenceCategories).toEqual(res.references[0][0]);
    }
    finer.dispose();
  });

  it('a mask folder inside the dataset is not scanned for images', async () => {
    const root = join(dir, 'ds-inner');
    const save = join(dir, 'cams-inner');
    writePngFile(join(root, 'A', 'a.png'), images[0]);
    writePngFile(join(root, 'masks', 'A', 'a.png'), maskPngs[0]);
    const r = await capture(() => main(['generate', '--dataset', root, '--save', save, '--model', spec, '--weights', weights, '--backend', 'cpu', '--mask-dir', join(root, 'masks'), '--modes', 'baseline']));
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(save).sort()).toEqual(['A_a.baseline.npy', 'A_a.json']);
    expect(sidecar(save, 'A_a').mask.path).toBe('masks/A/a.png');
    // nor is a --mask file lying in the dataset
    const root2 = join(dir, 'ds-inner2');
    const save2 = join(dir, 'cams-inner2');
    writePngFile(join(root2, 'A', 'a.png'), images[0]);
    writePngFile(join(root2, 'region.png'), maskPngs[0]);
    const r2 = await capture(() => main(['generate', '--dataset', root2, '--save', save2, '--model', spec, '--weights', weights, '--backend', 'cpu', '--mask', join(root2, 'region.png'), '--modes', 'baseline']));
    expect(r2.code, r2.err).toBe(0);
    expect(readdirSync(save2).sort()).toEqual(['A_a.baseline.npy', 'A_a.json']);
  });

  it("--mask-dir with a list file naming an image outside the list's folder: that image fails, named", async () => {
    const list = join(dir, 'lists', 'list.txt');
    mkdirSync(dirname(list), { recursive: true });
    writeFileSync(list, '../ds/A/a.png\n');
    const r = await capture(() => main(['generate', '--dataset', list, '--save', join(dir, 'cams-list'), '--model', spec, '--weights', weights, '--backend', 'cpu', '--mask-dir', masks]));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*a\.png: --mask-dir: the image's path '\.\.\/ds\/A\/a\.png' is not under the dataset's folder/);
  });
});

describe('generate with a segmentation model: usage errors (exit 2, one line, before any work)', () => {
  async function usageError(extra: string[], re: RegExp, model = ['--model', spec, '--weights', weights]): Promise<void> {
    const save = join(dir, 'never');
    const r = await capture(() => main(['generate', '--dataset', ds, '--save', save, '--backend', 'cpu', ...model, ...extra]));
    expect(r.code, extra.join(' ')).toBe(2);
    expect(r.errorCalls, extra.join(' ')).toHaveLength(1);
    expect(r.errorCalls[0]).toMatch(re);
    expect(existsSync(save)).toBe(false);
  }

  it('masks and classes', async () => {
    await usageError([], /generate: --model '.*tiny\.json' is a segmentation model: give --mask <image> \(one region for every image\) or --mask-dir <folder>/);
    await usageError(['--mask', join(masks, 'A', 'a.png'), '--mask-dir', masks], /give --mask .* or --mask-dir .*, not both/);
    await usageError(['--mask-dir', masks, '--target-class', '5'], /generate: --target-class must be a class index in 0\.\.4, got 5/);
    await usageError(['--mask-dir', masks, '--target-class', '1.5'], /--target-class must be a class index \(an integer ≥ 0\), got 1\.5/);
    await usageError(['--mask-dir', join(dir, 'nowhere')], /--mask-dir '.*nowhere' is not a folder/);
    await usageError(['--mask-dir', ds], /--mask-dir '.*ds' holds the dataset's folder/);
    await usageError(['--mask-dir', dir], /--mask-dir '.*' holds the dataset's folder/);
    await usageError(['--mask', join(dir, 'nothing.png')], /cannot read --mask '.*nothing\.png'/);
    const black = join(dir, 'black.png');
    writePngFile(black, { width: 30, height: 26, data: new Uint8Array(30 * 26 * 3) });
    await usageError(['--mask', black], /--mask '.*black\.png' is all black: the region to explain is empty/);
    await usageError(['--mask-dir', masks, '--classifier', weights], /--classifier does not apply to segmentation models/);
    const save = join(masks, 'out');
    const r = await capture(() => main(base(save, '--mask-dir', masks)));
    expect([r.code, r.errorCalls[0]]).toEqual([2, expect.stringMatching(/--save '.*out' is inside --mask-dir/)]);
  });

  it('--mask, --mask-dir and --target-class need a segmentation model', async () => {
    const resnet = join(dir, 'resnet.json');
    writeFileSync(resnet, JSON.stringify({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 3 }));
    const cls = ['--model', resnet, '--random-weights'];
    await usageError(['--mask', join(masks, 'A', 'a.png')], /generate: --mask is for segmentation models/, cls);
    await usageError(['--mask-dir', masks], /generate: --mask-dir is for segmentation models/, cls);
    await usageError(['--target-class', '1'], /generate: --target-class is for segmentation models/, cls);
  });
});

describeGpu('generate with a segmentation model on WebGPU', () => {
  it('the same maps, categories and Guided Grad-CAM on the webgpu backend', () => onBackend('webgpu'));
});
