// generate --method guided-gradcam (issue 15): besides each mode's Grad-CAM .npy, a Guided Grad-CAM PNG
// named in the sidecar, equal to what the library computes; --resume redoes an image whose PNG is missing;
// a model without ReLU modules is a usage error.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { bird, capture, removeTempDirs, tempDir, writeImage, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

let dir: string, spec: string, weights: string;
beforeAll(async () => {
  dir = tempDir('gen-guided');
  const opts = { block: 'basic' as const, layers: [1, 1, 1, 1] as [number, number, number, number], widths: [4, 4, 8, 8] as [number, number, number, number], numClasses: 3 };
  spec = join(dir, 'tiny-resnet.json');
  writeFileSync(spec, JSON.stringify(opts));
  F.manualSeed(7);
  const m = F.resnet(opts);
  weights = join(dir, 'tiny-resnet.safetensors');
  writeFileSync(weights, await F.saveSafetensors(m.stateDict()));
});

describe('generate --method guided-gradcam', () => {
  it('writes <name>.<mode>.guided.png as the library computes it, recorded in the sidecar; --resume checks them', async () => {
    const ds = join(dir, 'ds');
    const save = join(dir, 'cams');
    const rgb = bird(0, 1, 30, 26);
    writeImage(join(ds, 'A', 'x.png'), rgb);
    const run = (...extra: string[]) => capture(() => main(['generate', '--dataset', ds, '--save', save, '--model', spec, '--weights', weights, '--method', 'guided-gradcam', '--backend', 'cpu', ...extra]));
    const r = await run();
    expect(r.code, r.err).toBe(0);
    const side = JSON.parse(readFileSync(join(save, 'A_x.json'), 'utf8'));
    const model = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 3 });
    model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(weights))));
    model.eval();
    const pre = F.preprocess(rgb, { maxSize: 1000, patchSize: 1, norm: F.NORMALIZATIONS.imagenet });
    const finer = new F.FinerCAM({ model, targetLayers: ['layer4'] });
    const modes = [{ name: 'baseline', alpha: 0 }, { name: 'finer-default', alpha: 1, referenceCategoryRanks: [1, 2, 3] }, { name: 'finer-compare', alpha: 1, referenceCategoryRanks: [1] }];
    const res = await finer.forwardModes({ inputTensor: pre.tensor, modes });
    const gb = await new F.GuidedBackpropReLUModel(model).forward({ inputTensor: pre.tensor, targetCategory: res.mainCategories[0][0] });
    for (let i = 0; i < modes.length; i++) {
      const name = `A_x.${modes[i].name}.guided.png`;
      expect(side.modes[modes[i].name].guided).toBe(name);
      const png = F.decodePng(new Uint8Array(readFileSync(join(save, name))));
      const c = res.cams[i];
      const full = F.resizeBilinearCv(Float32Array.from(await c.data()), c.shape[2], c.shape[1], 1, 30, 26);
      const want = await F.guidedGradCam(F.tensor(full, [26, 30]), gb);
      expect([png.width, png.height]).toEqual([30, 26]);
      expect(Array.from(png.data)).toEqual(Array.from(want.data));
    }
    expect((await run('--resume')).err).toContain('0 written, 1 skipped (--resume)');
    rmSync(join(save, 'A_x.finer-compare.guided.png'));
    expect((await run('--resume')).err).toContain('1 written, 0 skipped (--resume)');
  });

  it('a ViT (no ReLU modules) is a usage error before any image is processed', async () => {
    const vit = await writeTinyVit(dir);
    const ds = join(dir, 'ds2');
    writeImage(join(ds, 'A', 'x.png'), bird(0, 1, 30, 26));
    const r = await capture(() => main(['generate', '--dataset', ds, '--save', join(dir, 'cams2'), '--model', vit.model, '--weights', vit.weights, '--method', 'guided-gradcam', '--backend', 'cpu']));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/generate: --method guided-gradcam needs a model with ReLU activations/);
  });
});
