// A checkpoint saved from a DataParallel model (every key under `module.`) works with --weights: the head's
// size is read through the wrapper and loadStateDict unwraps it. The expected probability is torch's
// (test/fixtures/cli-norm/expected.json, written by test/reference/make_norm_fixture.py).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

const FIX = new URL('../fixtures/cli-norm/', import.meta.url).pathname;
afterAll(removeTempDirs);

it('explain --weights <module.-wrapped checkpoint> sizes the head from it and matches torch', async () => {
  const dir = tempDir('wrapped');
  const dict = await F.loadTorchCheckpoint(join(FIX, 'tiny-resnet.pth'));
  const wrapped: Record<string, F.Tensor> = {};
  for (const [k, v] of Object.entries(dict)) wrapped[`module.${k}`] = v;
  const weights = join(dir, 'wrapped.safetensors');
  writeFileSync(weights, await F.saveSafetensors(wrapped));
  // the options leave numClasses out: it must come from module.fc.weight
  const model = join(dir, 'tiny-resnet.json');
  writeFileSync(model, JSON.stringify({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 8, 8, 8] }));
  const r = await capture(() => main(['explain', join(FIX, 'image.png'), '--model', model, '--weights', weights, '--out', join(dir, 'x.png')]));
  expect(r.code, r.err).toBe(0);
  const probs = (JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as { norms: { imagenet: { probs: number[] } } }).norms.imagenet.probs;
  const top = probs.indexOf(Math.max(...probs));
  expect(r.out).toContain(`Baseline       main ${top} p=${probs[top].toFixed(3)}`);
});
