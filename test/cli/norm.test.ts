// The normalisation comes from the model and is shown (issue 13, item 4). A torchvision-structured
// ResNet saved by torch.save and its logits under ImageNet's, CLIP's and a custom mean/std come from
// test/reference/make_norm_fixture.py (torchvision ToTensor + Normalize, torch 1.13, eval mode).
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir, writeClassifier, writeImage, bird, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

const FIX = new URL('../fixtures/cli-norm/', import.meta.url).pathname;
interface Expected {
  norms: Record<'imagenet' | 'clip' | 'custom', { mean: number[]; std: number[]; inputFirst: number[]; inputSum: number; logits: number[]; probs: number[] }>;
}
const expected: Expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8'));
const model = join(FIX, 'tiny-resnet.json');
const weights = join(FIX, 'tiny-resnet.pth');
const image = join(FIX, 'image.png');
// Logits of a 40×32 image through a float32 ResNet: summation order differs from PyTorch's, |z| < 2.
const LOGIT_TOL = 1e-4;

let dir: string;
let ds: string;
beforeAll(() => {
  dir = tempDir('norm');
  ds = join(dir, 'ds');
  mkdirSync(join(ds, 'some class'), { recursive: true });
  copyFileSync(image, join(ds, 'some class', 'img.png'));
});

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

async function generateLogits(name: string, extra: string[], dataset = ds) {
  const save = join(dir, `cams-${name}`);
  const r = await capture(() => main(['generate', '--dataset', dataset, '--save', save, '--modes', 'baseline', ...extra]));
  expect(r.code, r.err).toBe(0);
  const s = JSON.parse(readFileSync(join(save, 'some class_img.json'), 'utf8'));
  return { run: r, sidecar: s as { logits: number[]; norm: { name: string; mean: number[]; std: number[]; source: string } } };
}

describe('ResNets normalise with ImageNet mean/std, as torchvision', () => {
  it('explain --model <resnet> --weights <torch .pth>: p and the log line are ImageNet\'s', async () => {
    const out = join(dir, 'explain.png');
    const r = await capture(() => main(['explain', image, '--model', model, '--weights', weights, '--out', out]));
    expect(r.code, r.err).toBe(0);
    const e = expected.norms.imagenet;
    const top = e.probs.indexOf(Math.max(...e.probs));
    // torch gives 0.815 with ImageNet's stats and 0.818 with CLIP's: three decimals tell them apart
    expect(e.probs[top].toFixed(3)).not.toBe(expected.norms.clip.probs[top].toFixed(3));
    expect(r.out).toContain(`Baseline       main ${top} p=${e.probs[top].toFixed(3)}`);
    expect(r.err).toContain('norm imagenet (mean 0.485,0.456,0.406 std 0.229,0.224,0.225; ResNet');
  });

  it('generate: logits equal torchvision\'s with ImageNet\'s stats; the sidecar and the log say so', async () => {
    const { run, sidecar } = await generateLogits('resnet', ['--model', model, '--weights', weights]);
    expect(maxDiff(sidecar.logits, expected.norms.imagenet.logits)).toBeLessThan(LOGIT_TOL);
    expect(maxDiff(sidecar.logits, expected.norms.clip.logits)).toBeGreaterThan(10 * LOGIT_TOL);
    expect(sidecar.norm).toEqual({ name: 'imagenet', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], source: expect.stringMatching(/^ResNet/) });
    expect(run.err).toMatch(/generate: 1 images, .* norm imagenet \(mean 0\.485,0\.456,0\.406 std 0\.229,0\.224,0\.225; ResNet/);
  });

  it('--norm clip and --norm mean,mean,mean/std,std,std override it', async () => {
    const clip = await generateLogits('clip', ['--model', model, '--weights', weights, '--norm', 'clip']);
    expect(maxDiff(clip.sidecar.logits, expected.norms.clip.logits)).toBeLessThan(LOGIT_TOL);
    expect(clip.sidecar.norm).toMatchObject({ name: 'clip', source: '--norm' });
    const c = expected.norms.custom;
    const custom = await generateLogits('custom', ['--model', model, '--weights', weights, '--norm', `${c.mean.join(',')}/${c.std.join(',')}`]);
    expect(maxDiff(custom.sidecar.logits, c.logits)).toBeLessThan(LOGIT_TOL);
    expect(custom.sidecar.norm).toEqual({ name: 'custom', mean: c.mean, std: c.std, source: '--norm' });
    const ex = await capture(() => main(['explain', image, '--model', model, '--weights', weights, '--norm', 'clip', '--out', join(dir, 'e-clip.png')]));
    const top = expected.norms.clip.probs.indexOf(Math.max(...expected.norms.clip.probs));
    expect(ex.out).toContain(`main ${top} p=${expected.norms.clip.probs[top].toFixed(3)}`);
  });
});

describe('ViTs', () => {
  it('a DINOv2-style backbone with a head without metadata gets CLIP\'s (the seed\'s generate_cams.py); a head\'s stored norm wins', async () => {
    const vit = await writeTinyVit(dir);
    const bare = join(dir, 'head.safetensors');
    await writeClassifier(bare, 3, 16, 5);
    const withMeta = join(dir, 'head-imagenet.safetensors');
    await writeClassifier(withMeta, 3, 16, 5, { norm: 'imagenet' });
    const birds = join(dir, 'birds');
    writeImage(join(birds, 'some class', 'img.png'), bird(0, 3, 30, 28));
    const a = await generateLogits('vit', ['--model', vit.model, '--weights', vit.weights, '--classifier', bare], birds);
    expect(a.sidecar.norm).toMatchObject({ name: 'clip', mean: [...F.NORMALIZATIONS.clip.mean], source: expect.stringContaining('generate_cams.py') });
    const b = await generateLogits('vit-meta', ['--model', vit.model, '--weights', vit.weights, '--classifier', withMeta], birds);
    expect(b.sidecar.norm).toMatchObject({ name: 'imagenet', source: 'stored with --classifier' });
    expect(maxDiff(a.sidecar.logits, b.sidecar.logits)).toBeGreaterThan(1e-4);
  });
});

describe('the choice is documented and checked up front', () => {
  it('--help of explain and generate states the rule', async () => {
    for (const cmd of ['explain', 'generate']) {
      const r = await capture(() => main(['help', cmd]));
      const text = r.out.replace(/\s+/g, ' ');
      expect(text).toContain('--norm <value>');
      expect(text).toContain("imagenet, clip or mean,mean,mean/std,std,std (default: a classifier's stored one; else imagenet for ResNets, clip for ViTs/DINOv2 as the seed's generate_cams.py)");
    }
  });

  it('a bad --norm is exit 2 naming the option, before any weights are read', async () => {
    for (const bad of ['imagenett', '0.5,0.5/0.5,0.5,0.5', '0.5,0.5,0.5/0.5,0,0.5', '1,2,3', 'a,b,c/d,e,f', '0.5,0.5,0.5/0.5,0.5,0.5/1']) {
      for (const cmd of [['explain', image, '--model', model], ['generate', '--dataset', ds, '--save', join(dir, 'never'), '--model', model]]) {
        const r = await capture(() => main([...cmd, '--weights', join(dir, 'absent.pth'), '--norm', bad]));
        expect(r.code, bad).toBe(2);
        expect(r.errorCalls).toHaveLength(1);
        expect(r.errorCalls[0]).toContain(`--norm must be imagenet, clip or mean,mean,mean/std,std,std (3 numbers each, std > 0), got '${bad}'`);
      }
    }
  });
});

describe('library: preprocess() has no silent default', () => {
  const rgb = () => F.decodeImage(new Uint8Array(readFileSync(image)));

  it('throws when norm is missing, naming the choices', () => {
    expect(() => F.preprocess(rgb(), { patchSize: 1 } as unknown as F.PreprocessOptions)).toThrow(/norm is required: 'imagenet' \(torchvision ResNets.*'clip' \(the seed's generate_cams\.py DINOv2 heads\) or \{mean, std\}/);
    expect(() => (F.preprocess as unknown as (i: unknown) => unknown)(rgb())).toThrow(/norm is required/);
    expect(() => F.preprocess(rgb(), { patchSize: 1, norm: 'constructor' as F.NormName })).toThrow(/norm must be 'clip', 'imagenet' or \{mean, std\}/);
  });

  it("equals torchvision's ToTensor + Normalize for each normalisation", async () => {
    for (const name of ['imagenet', 'clip', 'custom'] as const) {
      const e = expected.norms[name];
      const norm = name === 'custom' ? { mean: e.mean, std: e.std } : name;
      const { tensor } = F.preprocess(rgb(), { patchSize: 1, norm });
      const v = (await tensor.data()) as Float32Array;
      // float32 (v/255 − mean)/std in torchvision's order: within one ulp of values below 3
      expect(maxDiff(Array.from(v.subarray(0, 8)), e.inputFirst)).toBeLessThan(1e-6);
      expect(Math.abs(v.reduce((s, x) => s + x, 0) - e.inputSum)).toBeLessThan(1e-2);
    }
  });
});
