// Usage errors of explain / visualize / demo and the command line itself (issue 13, items 4, 18, 21):
// each is exit code 2 with one line on stderr naming the option and what was expected, found before any
// model is loaded or any output folder is created.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { bird, capture, removeTempDirs, tempDir, TINY_RESNET, writeImage, writeTinyResnet } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

let dir: string;
let img: string;
let resnet: { model: string; weights: string };
let ds: string;
let never: string;
beforeAll(async () => {
  dir = tempDir('usage');
  img = join(dir, 'bird.png');
  writeImage(img, bird(1, 5, 40, 36));
  ds = join(dir, 'ds');
  writeImage(join(ds, 'A', 'a.png'), bird(0, 6, 30, 28));
  resnet = await writeTinyResnet(dir);
  never = join(dir, 'never');
});

async function expectUsageError(argv: string[], re: RegExp): Promise<void> {
  const r = await capture(() => main(argv));
  expect(r.code, `${argv.join(' ')}\n${r.err}`).toBe(2);
  expect(r.errorCalls, argv.join(' ')).toHaveLength(1);
  expect(r.errorCalls[0]).not.toContain('\n');
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.errorCalls[0]).toMatch(re);
}

describe('explain: options that would be ignored or run on random weights (item 4)', () => {
  it('--weights, --classifier, --target-layer, --random-weights without --model', async () => {
    for (const [o, v] of [['--weights', resnet.weights], ['--classifier', resnet.weights], ['--target-layer', 'layer4'], ['--random-weights']]) {
      await expectUsageError(['explain', img, o, ...(v ? [v] : []), '--out', join(never, 'x.png')], new RegExp(`^finercam explain: ${o} needs --model \\(without --model, explain uses the built-in demo model\\)$`));
    }
  });

  it('a model without --weights is refused unless --random-weights is given', async () => {
    await expectUsageError(['explain', img, '--model', 'resnet50', '--out', join(never, 'x.png')], /^finercam explain: --model 'resnet50' needs --weights <file> \(without them it would explain random weights; add --random-weights to do that on purpose\)$/);
    await expectUsageError(['explain', img, '--model', resnet.model, '--out', join(never, 'x.png')], /--model '.*resnet\.json' needs --weights <file>/);
    await expectUsageError(['generate', '--dataset', ds, '--save', never, '--model', 'dinov2_vitg14'], /^finercam generate: --model 'dinov2_vitg14' needs --weights <file>/);
    const out = join(dir, 'random.png');
    const r = await capture(() => main(['explain', img, '--model', resnet.model, '--random-weights', '--out', out]));
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('a classes file whose count differs from the model outputs', async () => {
    const three = join(dir, 'three.txt');
    writeFileSync(three, 'a\nb\nc\n');
    const two = join(dir, 'two.json');
    writeFileSync(two, '["a", "b"]');
    await expectUsageError(['explain', img, '--classes', three, '--out', join(never, 'x.png')], /^finercam explain: --classes lists 3 names but the model has 12 outputs$/);
    await expectUsageError(['explain', img, '--model', resnet.model, '--weights', resnet.weights, '--classes', two, '--out', join(never, 'x.png')], /^finercam explain: --classes lists 2 names but the model has 3 outputs$/);
    await expectUsageError(['generate', '--dataset', ds, '--save', never, '--model', resnet.model, '--weights', resnet.weights, '--classes', two], /^finercam generate: --classes lists 2 names but the model has 3 outputs$/);
  });
});

describe('explain options are checked before any work (item 18)', () => {
  it('ranges, file kinds and the image', async () => {
    const x = (...a: string[]) => ['explain', img, ...a];
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [x('--max-size', '0'), /^finercam explain: --max-size must be a positive integer, got 0$/],
      [x('--max-size', '-5'), /--max-size must be a positive integer, got -5/],
      [x('--max-size', '2.5'), /--max-size must be a positive integer, got 2\.5/],
      [x('--target', '1.5'), /^finercam explain: --target must be a class index \(an integer ≥ 0\), got 1\.5$/],
      [x('--target', '-1'), /--target must be a class index/],
      [x('--target', '12'), /^finercam explain: --target must be a class index in 0\.\.11, got 12$/],
      [x('--ranks', '0'), /--ranks must be positive integers, got '0'/],
      [x('--ranks', ','), /--ranks needs at least one rank/],
      [x('--out', join(dir, 'strip.jpg')), /^finercam explain: --out must be a \.png file or a folder, got '.*strip\.jpg'$/],
      [x('--out', join(file, 'x.png')), /^finercam explain: --out '.*a-file.x\.png' cannot be created: '.*a-file' is a file, not a folder$/],
      [x('--out', img), /^finercam explain: --out '.*bird\.png' is the input image; choose another file$/],
      [['explain', join(dir, 'absent.png')], /^finercam explain: cannot read '.*absent\.png'/],
      [['explain', file], /^finercam explain: cannot read '.*a-file'/],
      [['explain'], /^finercam explain: give exactly one image path$/],
      [x('--classes', join(dir, 'absent.txt')), /^finercam explain: --classes file '.*absent\.txt' cannot be read$/],
      [x('--model', resnet.model, '--weights', resnet.weights, '--target-layer', 'layer9'), /^finercam explain: --target-layer .*layer9/],
    ];
    for (const [argv, re] of cases) await expectUsageError(argv, re);
    expect(existsSync(never)).toBe(false);
  });
});

describe('visualize and demo options (item 18)', () => {
  it('visualize: --cams missing or a file, --tile-height out of range, --save a file — no output folder left', async () => {
    const cams = join(dir, 'cams');
    mkdirSync(cams, { recursive: true });
    const file = join(dir, 'some-file');
    writeFileSync(file, 'x');
    const v = (...a: string[]) => ['visualize', '--dataset', ds, ...a];
    const cases: [string[], RegExp][] = [
      [v('--cams', '/nope', '--save', never), /^finercam visualize: --cams '\/nope' does not exist \(give the --save folder of generate\)$/],
      [v('--cams', file, '--save', never), /^finercam visualize: --cams '.*some-file' is not a folder/],
      [v('--cams', cams, '--save', never, '--tile-height', '0'), /^finercam visualize: --tile-height must be an integer in 1\.\.4096 \(pixels\), got 0$/],
      [v('--cams', cams, '--save', never, '--tile-height', '7.5'), /--tile-height must be an integer in 1\.\.4096 \(pixels\), got 7\.5/],
      [v('--cams', cams, '--save', never, '--tile-height', '100000'), /--tile-height must be an integer in 1\.\.4096/],
      [v('--cams', cams, '--save', file), /^finercam visualize: --save '.*some-file' is a file; expected a folder/],
      [v('--cams', cams, '--save', never, 'extra'), /^finercam visualize: unexpected argument 'extra'$/],
    ];
    for (const [argv, re] of cases) await expectUsageError(argv, re);
    expect(existsSync(never)).toBe(false);
  });

  it('demo: --weights missing or not demo weights, --out a file, training options without --train', async () => {
    const torchPth = new URL('../fixtures/cli-norm/tiny-resnet.pth', import.meta.url).pathname;
    const file = join(dir, 'out-file');
    writeFileSync(file, 'x');
    const d = (...a: string[]) => ['demo', '--out', never, '--backend', 'cpu', ...a];
    const cases: [string[], RegExp][] = [
      [d('--weights', '/nope'), /^finercam demo: --weights '\/nope' does not exist$/],
      [d('--weights', torchPth), /^finercam demo: --weights '.*tiny-resnet\.pth' is not a finercam demo weights file \(a \.safetensors written by 'finercam demo --train'\): /],
      [d('--weights', resnet.weights), /^finercam demo: --weights '.*resnet\.safetensors' is not a finercam demo weights file .*metadata format/],
      [d('--weights', dir), /^finercam demo: --weights '.*' is not a file$/],
      [['demo', '--out', file], /^finercam demo: --out '.*out-file' is a file; expected a folder/],
      [d('--epochs', '3'), /^finercam demo: --epochs only applies with --train$/],
      [d('--eval-size', '0'), /^finercam demo: --eval-size must be an integer in 1\.\.20000, got 0$/],
      [d('--eval-size', '1e9'), /--eval-size must be an integer in 1\.\.20000, got 1000000000/],
      [d('--count', '-1'), /--count must be an integer in 0\.\.1000, got -1/],
      [d('--train', '--epochs', '0'), /--epochs must be an integer in 1\.\.1000, got 0/],
      [d('--train', '--weights', join(never, 'w.pth')), /^finercam demo: --weights must be a \.safetensors file to write/],
    ];
    for (const [argv, re] of cases) await expectUsageError(argv, re);
    expect(existsSync(never)).toBe(false);
  });
});

describe('the command line (item 21)', () => {
  it("'help foo' is an unknown command, exit 2", async () => {
    await expectUsageError(['help', 'foo'], /^finercam: unknown command 'foo' \(commands: demo, explain, generate, visualize, train-probe, .*help, version\)$/);
    const ok = await capture(() => main(['help', 'explain']));
    expect(ok.code).toBe(0);
  });

  it('--version and version print the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const a of ['--version', 'version', '-V']) {
      const r = await capture(() => main([a]));
      expect(r.code).toBe(0);
      expect(r.out).toBe(`finercam ${version}\n`);
    }
  });

  it('help: an option whose name and values are too long for the column gets its text on the next line', async () => {
    for (const cmd of ['explain', 'generate', 'visualize', 'demo', 'train-probe']) {
      const lines = (await capture(() => main(['help', cmd]))).out.split('\n');
      for (const [i, line] of lines.entries()) {
        if (!line.startsWith('  --')) continue;
        const m = /^( {2}--\S+(?: <[^>]*>)?)( *)(.*)$/.exec(line)!;
        if (m[3] === '') {
          // the help text follows, indented to the column
          expect(lines[i + 1], line).toMatch(/^ {34}\S/);
        } else {
          expect(m[2].length, line).toBeGreaterThanOrEqual(1);
          expect(m[1].length + m[2].length, line).toBe(34);
        }
        expect(line.length, line).toBeLessThanOrEqual(100);
      }
    }
    const explainHelp = (await capture(() => main(['help', 'explain']))).out;
    expect(explainHelp).toContain('  --method <gradcam|gradcam++|xgradcam|hirescam|layercam|gradcamelementwise|guided-gradcam>\n' + ' '.repeat(34) + 'base CAM method (guided-gradcam: Grad-CAM × guided backprop, ReLU\n');
  });

  it("the library's targetIdx: 1.5 is 'not an integer', before any forward pass", async () => {
    F.manualSeed(1);
    const net = F.resnet(TINY_RESNET).eval();
    let forwards = 0;
    net.registerForwardHook(() => {
      forwards++;
    });
    const cam = new F.FinerCAM({ model: net, targetLayers: ['layer4'] });
    const x = F.randn([1, 3, 32, 32]);
    await expect(cam.forward({ inputTensor: x, targetIdx: 1.5 })).rejects.toThrow(/^FinerCAM\.forward: targetIdx must be an integer class index, got 1\.5$/);
    await expect(cam.forward({ inputTensor: F.randn([2, 3, 32, 32]), targetIdx: [0, 0.5] })).rejects.toThrow(/targetIdx must be an integer class index, got 0\.5/);
    await expect(cam.forward({ inputTensor: x, targetIdx: 3 })).rejects.toThrow(/targetIdx 3 is out of range for 3 classes/);
    expect(forwards).toBe(1); // only the out-of-range call ran the model
    cam.dispose();
  });
});
