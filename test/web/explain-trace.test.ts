// `finercam explain --trace DIR`: the PNGs and trace.json hold the trace of the same call the library
// makes (compared with FinerCAM.forwardModes({trace: true}) on the same image, same backend: equal).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { loadDemoModel } from '../../cli/demo/model';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

interface TraceJson {
  method: string;
  layers: string[];
  modes: { name: string; alpha: number; referenceCategoryRanks: number[]; target: F.TargetTrace }[];
  steps: { step: number; key: string; mode: string; formula: string; shape: number[]; picture: string | null; data: number[] }[];
}

describe('explain --trace', () => {
  it('writes one PNG per step and mode and trace.json with the library\'s numbers', async () => {
    const dir = tempDir('explain-trace');
    const img = new URL('../../examples/bird.png', import.meta.url).pathname;
    const traceDir = join(dir, 'trace');
    const r = await capture(() => main(['explain', img, '--out', join(dir, 'bird.png'), '--backend', 'cpu', '--trace', traceDir]));
    expect(r.code, r.err).toBe(0);
    // 22 steps, 19 with a picture (channel weights are numbers only), and trace.json
    expect(r.out).toMatch(/wrote 20 trace files into /);
    const t = JSON.parse(readFileSync(join(traceDir, 'trace.json'), 'utf8')) as TraceJson;
    expect(t.method).toBe('GradCAM');
    expect(t.layers).toEqual(['layer3']);
    expect(t.modes.map((m) => m.name)).toEqual(['baseline', 'finer-default', 'finer-compare']);
    // grid-size maps (no targetSize, as explain): no resize step
    expect(t.steps.map((s) => `${s.mode}:${s.key}`)).toEqual([
      'shared:activations',
      ...['baseline', 'finer-default', 'finer-compare'].flatMap((m) => ['gradients', 'channelWeights', 'weightedSum', 'relu', 'normalised', 'combined', 'cam'].map((k) => `${m}:${k}`)),
    ]);
    for (const s of t.steps) {
      if (s.key === 'channelWeights') expect(s.picture).toBeNull();
      else {
        const png = F.decodeImage(new Uint8Array(readFileSync(join(traceDir, s.picture!))));
        const [h, w] = s.shape.slice(-2);
        // grids are enlarged by whole factors: activations 8 columns of channels
        if (s.shape.length === 4) expect([png.width % (8 * (w + 1) - 1), png.height % (Math.ceil(s.shape[1] / 8) * (h + 1) - 1)]).toEqual([0, 0]);
        else expect([png.width % w, png.height % h, png.width / w]).toEqual([0, 0, png.height / h]);
      }
    }
    expect(existsSync(join(traceDir, '01-shared-activations.png'))).toBe(true);

    const demo = await loadDemoModel();
    const pre = F.preprocess(F.decodeImage(new Uint8Array(readFileSync(img))), { maxSize: 1000, patchSize: 1, norm: F.NORMALIZATIONS.imagenet });
    const cam = new F.FinerCAM({ model: demo.loaded.model, targetLayers: ['layer3'] });
    const ref = await cam.forwardModes({
      inputTensor: pre.tensor, trace: true,
      modes: [{ alpha: 0, referenceCategoryRanks: [1, 2, 3] }, { alpha: 1, referenceCategoryRanks: [1, 2, 3] }, { alpha: 1, referenceCategoryRanks: [1] }],
    });
    cam.dispose();
    ref.trace!.steps.forEach((s, i) => {
      expect(t.steps[i].formula).toBe(s.formula);
      expect(t.steps[i].data).toEqual(Array.from(s.data));
    });
    t.modes.forEach((m, i) => {
      expect(m.target.value).toBe(ref.trace!.targets[i][0].value);
      expect(m.target.references).toEqual(ref.references[i][0]);
    });
  }, 120_000);
});
