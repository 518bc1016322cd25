// `finercam explain --model clip…`: zero-shot classes from --prompts or --classes + --template, the tokenizer from
// OpenAI's BPE file or a Hugging Face folder, and the usage errors (checked before any weights are read).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';
import { decodeNpy } from '../../cli/util/npy';
import { CLIP_DIR } from './clip-cases';

afterAll(removeTempDirs);

const BPE = join(CLIP_DIR, 'bpe_simple_vocab_16e6.txt.gz');
let dir: string;
let weights: string;
let image: string;
let hfDir: string;

beforeAll(async () => {
  dir = tempDir('clip-cli');
  // widths of 64 so that OpenAI's heads = width / 64 rule (what clipFromStateDict infers) gives 1 head
  const model = F.clip({ embedDim: 16, imageResolution: 32, visionLayers: 1, visionWidth: 64, visionPatchSize: 8, contextLength: 77, vocabSize: 49408, transformerWidth: 64, transformerHeads: 1, transformerLayers: 1 });
  weights = join(dir, 'tiny-clip.safetensors');
  writeFileSync(weights, await F.saveSafetensors(model.stateDict()));
  const px = new Uint8Array(48 * 40 * 3).map((_, i) => (i * 37) % 251);
  image = join(dir, 'bird.png');
  writeFileSync(image, F.encodePng({ width: 48, height: 40, data: px }));
  hfDir = join(dir, 'hf-tokenizer');
  mkdirSync(hfDir);
  writeFileSync(join(hfDir, 'vocab.json'), gunzipSync(readFileSync(join(CLIP_DIR, 'hf_vocab.json.gz'))));
  writeFileSync(join(hfDir, 'merges.txt'), gunzipSync(readFileSync(join(CLIP_DIR, 'hf_merges.txt.gz'))));
});

describe('explain with a zero-shot CLIP', () => {
  test('--prompts: three modes over the prompts, a PNG strip of the centre crop', async () => {
    const out = join(dir, 'out.png');
    const r = await capture(() => main(['explain', image, '--model', 'clip', '--weights', weights, '--tokenizer', BPE, '--prompts', 'a red crown|a brown crown|an orange beak|a black eye ring', '--out', out, '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/clip zero-shot \(4 text classes\), layer clip\.visual\.transformer\.resblocks\.-1\.ln_1, norm clip/);
    const lines = r.out.split('\n').filter((l) => / main /.test(l));
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/main (a red crown|a brown crown|an orange beak|a black eye ring) \(\d\)/);
    expect(lines[2].split('references')[1].split(',')).toHaveLength(1);
    expect(lines[1].split('references')[1].split(',')).toHaveLength(3);
    const png = F.decodeImage(new Uint8Array(readFileSync(out)));
    expect(png.width).toBeGreaterThan(4 * 32);
  });

  test('--classes + --template, Hugging Face tokenizer folder', async () => {
    const classes = join(dir, 'classes.txt');
    writeFileSync(classes, 'red crown\nbrown crown\n');
    const r = await capture(() => main(['explain', image, '--model', 'clip', '--weights', weights, '--tokenizer', hfDir, '--classes', classes, '--template', 'a bird with a {}.', '--out', join(dir, 'o2.png'), '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/2 text classes, template 'a bird with a \{\}\.'/);
    expect(r.out).toMatch(/main (red|brown) crown \(\d\)/);
  });

  test('generate: CAMs of the centre crop put back into the image frame, sidecars with the class names', async () => {
    const ds = join(dir, 'ds');
    for (const c of ['red crown', 'brown crown']) {
      mkdirSync(join(ds, c), { recursive: true });
      writeFileSync(join(ds, c, 'a.png'), readFileSync(image));
    }
    const classes = join(dir, 'classes2.txt');
    writeFileSync(classes, 'red crown\nbrown crown\n');
    const save = join(dir, 'cams');
    const r = await capture(() => main(['generate', '--dataset', ds, '--save', save, '--model', 'clip', '--weights', weights, '--tokenizer', BPE, '--classes', classes, '--template', 'a bird with a {}.', '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    const side = JSON.parse(readFileSync(join(save, 'red crown_a.json'), 'utf8'));
    expect(side.targetIdx).toBe(0);
    expect(side.modes.baseline.mainName).toBe('red crown');
    expect(side.modes['finer-compare'].referenceNames).toEqual(['brown crown']);
    const npy = decodeNpy(new Uint8Array(readFileSync(join(save, 'red crown_a.baseline.npy'))));
    expect(npy.shape).toEqual([40, 48]);
    // 48×40 → resized 38×32, crop from x = 3: the leftmost column lies outside what CLIP saw
    const col0 = Array.from({ length: 40 }, (_, y) => npy.data[y * 48]);
    expect(Math.max(...col0)).toBe(0);
    expect(Math.max(...Array.from(npy.data))).toBeGreaterThan(0.5);
  });

  test('usage errors name the option and what was expected', async () => {
    const run = (...a: string[]) => capture(() => main(['explain', image, '--out', join(dir, 'x.png'), ...a]));
    const cases: [string[], RegExp][] = [
      [['--model', 'clip', '--weights', weights, '--tokenizer', BPE], /needs its classes as text: --prompts/],
      [['--model', 'clip', '--weights', weights, '--prompts', 'a|b'], /CLIP needs --tokenizer/],
      [['--model', 'clip', '--weights', weights, '--tokenizer', join(dir, 'nope.txt.gz'), '--prompts', 'a|b'], /--tokenizer '.*nope\.txt\.gz' does not exist/],
      [['--model', 'clip', '--weights', weights, '--tokenizer', dir, '--prompts', 'a|b'], /has no vocab\.json/],
      [['--model', 'clip', '--weights', weights, '--tokenizer', weights, '--prompts', 'a|b'], /--tokenizer '.*' cannot be read/],
      [['--model', 'clip', '--tokenizer', BPE, '--prompts', 'a|b'], /needs --weights/],
      [['--model', 'clip', '--weights', weights, '--tokenizer', BPE, '--prompts', 'only one'], /at least two non-empty prompts/],
      [['--model', 'clip', '--weights', weights, '--tokenizer', BPE, '--prompts', 'a|b', '--template', 'x {}'], /--template applies to --classes/],
      [['--model', 'clip-vit-b16', '--weights', weights, '--tokenizer', BPE, '--prompts', 'a|b'], /--weights do not fit --model clip-vit-b16 \(ViT-B\/16\): embedDim 16 instead of 512/],
      [['--model', 'resnet18', '--random-weights', '--prompts', 'a|b'], /--prompts is for CLIP models/],
      [['--prompts', 'a|b'], /--prompts needs --model/],
    ];
    for (const [args, re] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
    }
  });
});
