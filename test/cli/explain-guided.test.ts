// explain --method guided-gradcam (issue 15): the Finer modes' Grad-CAM maps times guided backprop of the
// main class, deprocessed as pytorch-grad-cam's cam.py does; a model without ReLU modules is a usage error.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';
import { expectGuidedStrip } from '../helpers/guided-strip';

afterAll(removeTempDirs);

describe('explain --method guided-gradcam', () => {
  it('writes a strip whose tiles are the Guided Grad-CAM images, with the same categories as Grad-CAM', async () => {
    const dir = tempDir('explain-guided');
    const img = join(dir, 'finch.png');
    copyFileSync(new URL('../../examples/bird.png', import.meta.url), img);
    const plain = await capture(() => main(['explain', img, '--backend', 'cpu', '--out', join(dir, 'plain.png')]));
    const guided = await capture(() => main(['explain', img, '--backend', 'cpu', '--method', 'guided-gradcam', '--out', join(dir, 'guided.png')]));
    await expectGuidedStrip(plain, guided, join(dir, 'plain.png'), join(dir, 'guided.png'));
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
