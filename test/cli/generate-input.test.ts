// What generate accepts as --dataset and --save, checked before any work: a list file must be text
// naming existing files; --save and --max-size are usage errors up front (exit 2, one line, nothing
// created, the weights not even read); scans skip finercam's own outputs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { bird, capture, copyJpeg, flat, removeTempDirs, tempDir, writeClassifier, writeImage, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

let dir: string;
let ds: string;
let model: string[];
/** --weights that cannot be read: an error about them means the weights were reached. */
let junkModel: string[];
beforeAll(async () => {
  dir = tempDir('gen-input');
  const vit = await writeTinyVit(dir);
  const head = join(dir, 'head.safetensors');
  await writeClassifier(head, 3, 16, 5);
  model = ['--model', vit.model, '--weights', vit.weights, '--classifier', head];
  const junk = join(dir, 'junk.safetensors');
  writeFileSync(junk, 'not weights');
  junkModel = ['--model', vit.model, '--weights', junk];
  ds = join(dir, 'ds');
  writeImage(join(ds, 'A', 'a.png'), bird(0, 1, 28, 26));
  writeImage(join(ds, 'B', 'b.png'), bird(1, 2, 26, 28));
});

async function usageError(argv: string[], re: RegExp): Promise<void> {
  const r = await capture(() => main(argv));
  expect(r.code, argv.join(' ')).toBe(2);
  expect(r.errorCalls, argv.join(' ')).toHaveLength(1);
  expect(r.errorCalls[0]).not.toContain('\n');
  expect(r.errorCalls[0]).toMatch(re);
}

describe('generate --dataset <list file>', () => {
  it('an image given as --dataset is refused, naming its first line (exit 2, nothing created)', async () => {
    const png = join(ds, 'A', 'a.png');
    const jpg = join(dir, 'photo.jpg');
    copyJpeg(jpg);
    const save = join(dir, 'never');
    await usageError(['generate', '--dataset', png, '--save', save, ...junkModel],
      /^finercam generate: --dataset '.*a\.png' must be a folder \(<class>\/<image>\) or a text file with one image path per line; line 1 is not valid UTF-8 text/);
    await usageError(['generate', '--dataset', jpg, '--save', save, ...junkModel], /--dataset '.*photo\.jpg' must be a folder .*; line 1 holds a NUL byte \(is it an image or other binary file\?\)$/);
    expect(existsSync(save)).toBe(false);
  });

  it('NUL bytes, missing paths and folders are refused at the first bad line', async () => {
    const save = join(dir, 'never');
    const nul = join(dir, 'nul.txt');
    writeFileSync(nul, 'ds/A/a.png\nds/B/b.png\x00\n');
    await usageError(['generate', '--dataset', nul, '--save', save, ...junkModel], /--dataset '.*nul\.txt' .*; line 2 holds a NUL byte/);
    const missing = join(dir, 'missing.txt');
    writeFileSync(missing, '# my images\nds/A/a.png\n\nds/A/nope.png\nds/B/gone.png\n');
    await usageError(['generate', '--dataset', missing, '--save', save, ...junkModel], /--dataset '.*missing\.txt' .*; line 4: "ds\/A\/nope\.png" does not exist \(paths are relative to the list's folder\)$/);
    const folder = join(dir, 'folder.txt');
    writeFileSync(folder, 'ds/A\n');
    await usageError(['generate', '--dataset', folder, '--save', save, ...junkModel], /; line 1: "ds\/A" is not a file$/);
    const latin1 = join(dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.concat([Buffer.from('ds/A/a.png\nds/B/caf'), Buffer.from([0xe9]), Buffer.from('.png\n')]));
    await usageError(['generate', '--dataset', latin1, '--save', save, ...junkModel], /; line 2 is not valid UTF-8 text/);
    expect(existsSync(save)).toBe(false);
  });

  it('a UTF-8 list (BOM, CRLF, comments, blank lines, relative to its folder) works', async () => {
    const list = join(dir, 'list.txt');
    writeFileSync(list, '\uFEFF# two images\r\nds/A/a.png\r\n\r\n  ds/B/b.png  \r\n');
    const save = join(dir, 'list-cams');
    const r = await capture(() => main(['generate', '--dataset', list, '--save', save, ...model, '--modes', 'baseline']));
    expect(r.code).toBe(0);
    expect(readdirSync(save).sort()).toEqual(['A_a.baseline.npy', 'A_a.json', 'B_b.baseline.npy', 'B_b.json']);
    expect(JSON.parse(readFileSync(join(save, 'B_b.json'), 'utf8')).source).toBe('ds/B/b.png');
  });
});

describe('generate: --save and --max-size are checked up front', () => {
  it('--save naming an existing file, or a path below a file, is exit 2 before the weights are read', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'keep me');
    await usageError(['generate', '--dataset', ds, '--save', file, ...junkModel], /^finercam generate: --save '.*a-file' is a file; expected a folder/);
    await usageError(['generate', '--dataset', ds, '--save', join(file, 'cams'), ...junkModel], /^finercam generate: --save '.*a-file.cams' cannot be created: '.*a-file' is a file, not a folder$/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('--max-size 0, negative or fractional is exit 2 before the weights are read, and no output folder is created', async () => {
    const save = join(dir, 'never-max');
    for (const v of ['0', '-5', '12.5']) {
      await usageError(['generate', '--dataset', ds, '--save', save, ...junkModel, '--max-size', v], new RegExp(`^finercam generate: --max-size must be a positive integer \\(pixels\\), got ${v.replace('.', '\\.')}$`));
    }
    expect(existsSync(save)).toBe(false);
  });
});

describe("dataset scans skip finercam's outputs", () => {
  it("generate skips explain's *.finercam.png and images inside its own --save folder", async () => {
    const root = join(dir, 'scan');
    writeImage(join(root, 'A', 'x.png'), bird(0, 3, 28, 28));
    writeImage(join(root, 'A', 'x.finercam.png'), flat([200, 10, 10], 1, 60, 30));
    writeImage(join(root, 'A', 'Y.FINERCAM.PNG'), flat([10, 200, 10], 2, 60, 30));
    const save = join(root, 'cams');
    writeImage(join(save, 'A_x.png'), flat([10, 10, 200], 3, 60, 30)); // e.g. strips kept beside the CAMs
    const r = await capture(() => main(['generate', '--dataset', root, '--save', save, ...model, '--modes', 'baseline']));
    expect(r.code).toBe(0);
    expect(r.err).toContain('generate: 1 images');
    expect(readdirSync(save).sort()).toEqual(['A_x.baseline.npy', 'A_x.json', 'A_x.png']);
    // visualize inside the dataset: its own strips (and the CAM folder) are not taken for images on a rerun
    const vis = join(root, 'strips');
    for (let i = 0; i < 2; i++) {
      const v = await capture(() => main(['visualize', '--dataset', root, '--cams', save, '--save', vis, '--tile-height', '28']));
      expect(v.code).toBe(0);
      expect(v.err).toContain('visualize: 1 strips written');
    }
  });

  it("train-probe's folder reader skips *.finercam.png", async () => {
    const root = join(dir, 'probe-ds');
    for (const split of ['train', 'val']) {
      writeImage(join(root, split, 'red', 'r.png'), flat([200, 40, 40], 4, 28, 28));
      writeImage(join(root, split, 'blue', 'b.png'), flat([40, 40, 200], 5, 28, 28));
      copyFileSync(join(root, split, 'red', 'r.png'), join(root, split, 'red', 'r.finercam.png'));
    }
    mkdirSync(join(dir, 'probe'), { recursive: true });
    const r = await capture(() => main(['train-probe', '--dataset', root, '--model', model[1], '--weights', model[3], '--crop-size', '28', '--resize-size', '28',
      '--cache-features', '--epochs', '1', '--out', join(dir, 'probe', 'p.safetensors')]));
    expect(r.code).toBe(0);
    expect(r.err).toContain('2 train / 2 val images, 2 classes');
  });
});
