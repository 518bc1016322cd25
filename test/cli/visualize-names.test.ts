// visualize finds the closest class's example image through what generate recorded (issue 13, item 19):
// seed-style class names ("Blue Grosbeak") for folders such as "001.Blue_Grosbeak", which generate
// matches with difflib, with or without --classes; a tile it cannot fill is reported on stderr; the
// strips carry the JET colour scale.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { bird, capture, removeTempDirs, tempDir, writeClassifier, writeImage, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

const JET: number[][] = JSON.parse(readFileSync(new URL('../fixtures/images/opencv_jet_rgb_256.json', import.meta.url), 'utf8'));
const NAMES = ['Blue Grosbeak', 'Grandala', 'Indigo Bunting'];
const FOLDERS = ['001.Blue_Grosbeak', '002.Grandala', '003.Indigo_Bunting']; // difflib ratio 0.8, 0.8, 0.81
const W = 30;
const H = 28;

let dir: string;
let ds: string;
let cams: string;
let classes: string;
beforeAll(async () => {
  dir = tempDir('vis-names');
  ds = join(dir, 'ds');
  FOLDERS.forEach((f, c) => {
    for (let i = 0; i < 2; i++) writeImage(join(ds, f, `im${i}.png`), bird(c % 2, 40 + 10 * c + i, W, H));
  });
  const vit = await writeTinyVit(dir);
  const head = join(dir, 'head.safetensors');
  await writeClassifier(head, 3, 16, 9);
  classes = join(dir, 'classes.txt');
  writeFileSync(classes, NAMES.join('\n'));
  cams = join(dir, 'cams');
  const g = await capture(() => main(['generate', '--dataset', ds, '--save', cams, '--model', vit.model, '--weights', vit.weights, '--classifier', head, '--classes', classes]));
  expect(g.code, g.err).toBe(0);
});

const read = (p: string) => F.decodeImage(new Uint8Array(readFileSync(p)));
const sidecar = (key: string) => JSON.parse(readFileSync(join(cams, `${key}.json`), 'utf8'));
const keys = () => FOLDERS.flatMap((f) => [0, 1].map((i) => `${f}_im${i}`));

/** Tile i of a strip (tile height = image height, so tiles are drawn 1:1). */
function tile(strip: F.RgbImage, i: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < H; y++) {
    const o = ((25 + y) * strip.width + 10 + i * (W + 10)) * 3;
    out.push(...strip.data.subarray(o, o + W * 3));
  }
  return out;
}

async function run(save: string, extra: string[]) {
  return capture(() => main(['visualize', '--dataset', ds, '--cams', cams, '--save', save, '--tile-height', String(H), ...extra]));
}

describe('visualize: the closest-class tile', () => {
  it('generate matched the seed-style names to the numbered folders', () => {
    FOLDERS.forEach((f, c) => expect(sidecar(`${f}_im0`).targetIdx).toBe(c));
  });

  for (const withClasses of [false, true]) {
    it(`is the first image of the reference class's folder ${withClasses ? 'with --classes (names ≠ folders)' : 'without --classes (names from the sidecars)'}`, async () => {
      const save = join(dir, withClasses ? 'vis-classes' : 'vis-plain');
      const r = await run(save, withClasses ? ['--classes', classes] : []);
      expect(r.code, r.err).toBe(0);
      expect(r.err).not.toContain('warning');
      for (const key of keys()) {
        const ref: number = sidecar(key).modes['finer-compare'].referenceCategories[0];
        const example = read(join(ds, FOLDERS[ref], 'im0.png'));
        const strip = read(join(save, `${key}.png`));
        expect(tile(strip, 1), key).toEqual(Array.from(F.resizeBicubicPil(example, W, H).data));
      }
    });
  }

  it('warns on stderr, naming the image and the class, when the tile stays blank', async () => {
    const save = join(dir, 'vis-missing');
    // remove the example images of every class but the first: each first-class image's reference is gone
    for (const f of FOLDERS.slice(1)) rmSync(join(ds, f), { recursive: true });
    const r = await run(save, []);
    expect(r.code, r.err).toBe(0);
    for (const key of [`${FOLDERS[0]}_im0`, `${FOLDERS[0]}_im1`]) {
      const ref: number = sidecar(key).modes['finer-compare'].referenceCategories[0];
      expect(r.err).toContain(`visualize: warning: ${key}: no image of the closest class ${NAMES[ref]} (${ref}) in '${ds}', its tile is blank`);
      expect(tile(read(join(save, `${key}.png`)), 1).every((v) => v === 255)).toBe(true);
    }
    expect(readdirSync(save).sort()).toEqual([`${FOLDERS[0]}_im0.png`, `${FOLDERS[0]}_im1.png`]);
  });
});

describe('visualize: colour scale', () => {
  it('draws 0 [JET bar] 1 below the tiles', () => {
    const strip = read(join(dir, 'vis-plain', `${FOLDERS[0]}_im0.png`));
    // margins 10, label band 15, tiles of 28 px, then the legend row (8) and the bottom margin
    expect([strip.width, strip.height]).toEqual([10 + 5 * (W + 10), 10 + 15 + H + 10 + 8 + 10]);
    const y = 10 + 15 + H + 10;
    const barW = Math.min(256, strip.width - 20 - 18);
    const at = (x: number, yy: number) => Array.from(strip.data.subarray((yy * strip.width + x) * 3, (yy * strip.width + x) * 3 + 3));
    expect(at(19, y)).toEqual(JET[0]);
    expect(at(19 + barW - 1, y + 7)).toEqual(JET[255]);
    expect(at(19 + barW, y)).toEqual([255, 255, 255]);
  });
});
