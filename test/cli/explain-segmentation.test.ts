// explain with a segmentation model (issue 15): --mask gives the region, --target-class the class; the
// printed references and probabilities are those of FinerCAM with masks on the same preprocessed input.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';
import { EXTRAS, segMeta } from '../helpers/seg-fixtures';
import { expectGuidedStrip } from '../helpers/guided-strip';

afterAll(removeTempDirs);

let dir: string, spec: string, weights: string, img: string, maskPng: string;
let rgb: F.RgbImage, mask: Float32Array;
beforeAll(async () => {
  dir = tempDir('explain-seg');
  const m = segMeta.models.find((s) => s.name === 'deeplabv3_tiny')!;
  spec = join(dir, 'tiny.json');
  writeFileSync(spec, JSON.stringify({ kind: 'deeplabv3', layers: m.layers, widths: m.widths, numClasses: m.numClasses, asppChannels: m.asppChannels, atrousRates: m.atrousRates }));
  const data = await F.loadSafetensors(new Uint8Array(readFileSync(join(EXTRAS, 'seg_deeplabv3_tiny.safetensors'))));
  const sd: Record<string, F.Tensor> = {};
  for (const [k, v] of Object.entries(data)) if (k.startsWith('model.')) sd[k.slice(6)] = v;
  weights = join(dir, 'tiny.safetensors');
  writeFileSync(weights, await F.saveSafetensors(sd));
  const [W, H] = [30, 26];
  rgb = { width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + (i % 7) * 11) % 256) };
  img = join(dir, 'scene.png');
  writeFileSync(img, F.encodePng(rgb));
  mask = new Float32Array(W * H);
  const mrgb = new Uint8Array(W * H * 3);
  for (let y = 5; y < 17; y++) for (let x = 8; x < 25; x++) { mask[y * W + x] = 1; mrgb.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3); }
  maskPng = join(dir, 'mask.png');
  writeFileSync(maskPng, F.encodePng({ width: W, height: H, data: mrgb }));
});

describe('explain --mask with a segmentation model', () => {
  it('prints the references and region probabilities FinerCAM gives with the mask', async () => {
    const r = await capture(() => main(['explain', img, '--model', spec, '--weights', weights, '--mask', maskPng, '--target-class', '1', '--backend', 'cpu', '--out', join(dir, 'out.png')]));
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n').filter((l) => / main /.test(l));
    expect(lines.length).toBe(3);
    // the same computation through the library
    const { model } = await (async () => {
      const m = new F.SegmentationModel('deeplabv3', { layers: [1, 1, 2, 2], widths: [4, 4, 8, 8], numClasses: 5, asppChannels: 8, atrousRates: [2, 3, 5], auxLoss: true });
      m.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(weights))));
      return { model: m.eval() };
    })();
    const pre = F.preprocess(rgb, { maxSize: 1000, patchSize: 1, norm: F.NORMALIZATIONS.imagenet });
    const finer = new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] });
    const res = await finer.forwardModes({ inputTensor: pre.tensor, targetIdx: 1, masks: [mask], modes: [{ alpha: 0 }, { alpha: 1, referenceCategoryRanks: [1, 2, 3] }, { alpha: 1, referenceCategoryRanks: [1] }] });
    const probs = await F.softmax(F.tensor(await F.maskedClassScores(res.outputs, [mask], 't'), [1, 5]), 1).data();
    lines.forEach((l, i) => {
      const main = res.mainCategories[i][0];
      expect(main).toBe(1);
      expect(l).toContain(`main ${main} p=${probs[main].toFixed(3)}`);
      expect(l).toContain(`references ${res.references[i][0].join(', ')}`);
    });
    finer.dispose();
  });

  it('--method guided-gradcam: the same classes as Grad-CAM, tiles of Guided Grad-CAM (backprop of the region score)', async () => {
    const args = [img, '--model', spec, '--weights', weights, '--mask', maskPng, '--target-class', '1', '--backend', 'cpu'];
    const plain = await capture(() => main(['explain', ...args, '--out', join(dir, 'plain.png')]));
    const guided = await capture(() => main(['explain', ...args, '--method', 'guided-gradcam', '--out', join(dir, 'guided.png')]));
    await expectGuidedStrip(plain, guided, join(dir, 'plain.png'), join(dir, 'guided.png'));
  });

  it('bad input: usage errors naming the option', async () => {
    const run = (...a: string[]) => capture(() => main(['explain', img, '--backend', 'cpu', '--out', join(dir, 'o.png'), ...a]));
    let r = await run('--model', spec, '--weights', weights);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/is a segmentation model: give --mask <image>/)]);
    r = await run('--mask', maskPng);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--mask is for segmentation models/)]);
    const small = join(dir, 'small.png');
    writeFileSync(small, F.encodePng({ width: 3, height: 2, data: new Uint8Array(18).fill(255) }));
    r = await run('--model', spec, '--weights', weights, '--mask', small);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--mask '.*small\.png' is 3×2 but the image is 30×26/)]);
    const black = join(dir, 'black.png');
    writeFileSync(black, F.encodePng({ width: 30, height: 26, data: new Uint8Array(30 * 26 * 3) }));
    r = await run('--model', spec, '--weights', weights, '--mask', black);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/is all black: the region to explain is empty/)]);
    r = await run('--model', spec, '--weights', weights, '--mask', maskPng, '--target', '1', '--target-class', '1');
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/give --target or --target-class, not both/)]);
    r = await run('--model', spec, '--weights', weights, '--mask', maskPng, '--target-class', '5');
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--target must be a class index in 0\.\.4, got 5/)]);
  });
});
