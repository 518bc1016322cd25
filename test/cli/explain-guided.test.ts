// explain --method guided-gradcam (issue 15): the Finer modes' Grad-CAM maps times guided backprop of the
// main class, deprocessed as pytorch-grad-cam's cam.py does; a model without ReLU modules is a usage error.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

describe('explain --method guided-gradcam', () => {
  it('writes a strip whose tiles are the Guided Grad-CAM images, with the same categories as Grad-CAM', async () => {
    const dir = tempDir('explain-guided');
    const img = join(dir, 'finch.png');
    copyFileSync(new URL('../../examples/bird.png', import.meta.url), img);
    const plain = await capture(() => main(['explain', img, '--backend', 'cpu', '--out', join(dir, 'plain.png')]));
    const guided = await capture(() => main(['explain', img, '--backend', 'cpu', '--method', 'guided-gradcam', '--out', join(dir, 'guided.png')]));
    expect(guided.code, guided.err).toBe(0);
    const cats = (s: string) => s.split('\n').filter((l) => /main .* references/.test(l));
    expect(cats(guided.out)).toEqual(cats(plain.out));
    expect(cats(guided.out).length).toBe(3);
    const a = await F.decodePng(readFileSync(join(dir, 'plain.png')));
    const b = await F.decodePng(readFileSync(join(dir, 'guided.png')));
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    // the original tile is the same; the CAM tiles are not heat-maps any more (mostly grey around 128)
    let differ = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) differ++;
    expect(differ).toBeGreaterThan(a.data.length / 10);
  });

  it('a model without ReLU modules is a usage error naming the option', async () => {
    const dir = tempDir('explain-guided-vit');
    const img = join(dir, 'finch.png');
    copyFileSync(new URL('../../examples/bird.png', import.meta.url), img);
    const r = await capture(() => main(['explain', img, '--backend', 'cpu', '--model', 'vit_tiny16', '--random-weights', '--method', 'guided-gradcam', '--out', join(dir, 'o.png')]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--method guided-gradcam needs a model with ReLU activations/);
  });
});
