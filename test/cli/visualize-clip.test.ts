// visualize on the sidecars `generate` writes for a zero-shot CLIP (issue 10): the class names come from the prompts
// the sidecars record, the closest prompt's example image is found through the folder generate matched to it, and
// every mode's map (a CAM of CLIP's centre crop, put back into the image frame) has the image's size.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { bird, capture, removeTempDirs, tempDir, writeImage } from '../fixtures/cli-e2e/build';
import { demoTokenizerFiles } from '../../cli/demo/clip/vocab';
import { encodeNpy } from '../../cli/util/npy';

afterAll(removeTempDirs);

const PROMPTS = ['a bird with a red crown', 'a bird with a brown crown', 'a bird with an orange beak'];
let dir: string;
let weights: string;
let tokenizer: string;
let ds: string;

beforeAll(async () => {
  dir = tempDir('vis-clip');
  F.manualSeed(3);
  // widths of 64: OpenAI's heads = width / 64 rule, which clipFromStateDict (--model clip) infers
  const model = F.clip({ embedDim: 16, imageResolution: 32, visionLayers: 1, visionWidth: 64, visionPatchSize: 8, contextLength: 16, vocabSize: 575, transformerWidth: 64, transformerHeads: 1, transformerLayers: 1 });
  weights = join(dir, 'tiny-clip.safetensors');
  writeFileSync(weights, await F.saveSafetensors(model.stateDict()));
  tokenizer = join(dir, 'tok');
  mkdirSync(tokenizer);
  const files = demoTokenizerFiles();
  expect(F.ClipTokenizer.fromHuggingFace(files.vocabJson, files.mergesTxt).vocabSize).toBe(575);
  writeFileSync(join(tokenizer, 'vocab.json'), files.vocabJson);
  writeFileSync(join(tokenizer, 'merges.txt'), files.mergesTxt);
  ds = join(dir, 'ds');
  // folders named as the prompts, so generate matches each folder to its prompt; images not square (40×36)
  PROMPTS.forEach((p, c) => {
    for (let i = 0; i < 2; i++) writeImage(join(ds, p, `im${i}.png`), bird(c % 2, 10 * c + i, 40, 36));
  });
});

describe('visualize on zero-shot CLIP sidecars', () => {
  for (const how of ['--prompts', '--classes'] as const) {
    test(`generate ${how} → visualize: one strip per image, names and example images from the sidecars`, async () => {
      const save = join(dir, `cams${how}`);
      const vis = join(dir, `vis${how}`);
      const classArgs = how === '--prompts' ? ['--prompts', PROMPTS.join('|')] : ['--classes', join(dir, 'classes.txt')];
      writeFileSync(join(dir, 'classes.txt'), PROMPTS.join('\n') + '\n');
      const g = await capture(() => main(['generate', '--dataset', ds, '--save', save, '--model', 'clip', '--weights', weights, '--tokenizer', tokenizer, ...classArgs, '--backend', 'cpu']));
      expect(g.code, g.err).toBe(0);
      const side = JSON.parse(readFileSync(join(save, `${PROMPTS[2]}_im0.json`), 'utf8'));
      expect(side.targetIdx).toBe(2);
      expect(side.modes.baseline.mainName).toBe(PROMPTS[2]);
      const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '48']));
      expect(v.code, v.err).toBe(0);
      expect(v.err).toMatch(/6 strips written/);
      expect(v.err).not.toMatch(/warning/); // every closest prompt has an example folder
      const pngs = readdirSync(vis).filter((f) => f.endsWith('.png')).sort();
      expect(pngs).toHaveLength(6);
      const strip = F.decodeImage(new Uint8Array(readFileSync(join(vis, pngs[0]))));
      // original, closest example, three modes: five tiles of height 48 (40×36 → 53 px wide) plus margins
      expect(strip.width).toBeGreaterThanOrEqual(5 * 53);
      expect(strip.height).toBeGreaterThan(48);
    });
  }

  test('a sidecar whose map does not fit the image is reported for that image, the others are drawn', async () => {
    const save = join(dir, 'cams--prompts');
    const vis = join(dir, 'vis-bad');
    const side = JSON.parse(readFileSync(join(save, `${PROMPTS[0]}_im1.json`), 'utf8'));
    writeFileSync(join(save, side.modes.baseline.cam), encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }));
    const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '48']));
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/5 strips written to .*, 1 failed/);
    expect(v.err).toMatch(/is 2×2, the image is 36×40/);
  });
});
