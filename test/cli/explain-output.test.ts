// Where explain writes and what its PNG shows (issue 13, items 18, 20, 21): never beside the image (a
// later dataset scan would take it for an image), into --out when that is a folder; tiles labelled with
// the classes; a JET colour scale below the tiles.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { drawText, fitText, measureText } from '../../image/font';
import { createImage } from '../../image/canvas';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

const JET: number[][] = JSON.parse(readFileSync(new URL('../fixtures/images/opencv_jet_rgb_256.json', import.meta.url), 'utf8'));
const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

let dir: string;
let imgDir: string;
let img: string;
beforeAll(() => {
  dir = tempDir('explain-out');
  imgDir = join(dir, 'photos');
  mkdirSync(imgDir);
  img = join(imgDir, 'finch.png');
  copyFileSync(new URL('../../examples/bird.png', import.meta.url), img); // an Orange-billed Finch, 96×96
});

const rgbAt = (im: F.RgbImage, x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3));

describe('explain output location', () => {
  it('writes <name>.finercam.png into the current folder, nothing beside the image', async () => {
    const work = join(dir, 'work');
    mkdirSync(work);
    process.chdir(work);
    const r = await capture(() => main(['explain', img, '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(work)).toEqual(['finch.finercam.png']);
    expect(readdirSync(imgDir)).toEqual(['finch.png']);
    expect(r.out).toContain('wrote finch.finercam.png');
  });

  it('--out <existing folder> and --out <new folder>/ write <name>.finercam.png into it', async () => {
    const existing = join(dir, 'strips');
    mkdirSync(existing);
    const r = await capture(() => main(['explain', img, '--out', existing, '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(existing)).toEqual(['finch.finercam.png']);
    const fresh = join(dir, 'new', 'folder');
    const r2 = await capture(() => main(['explain', img, '--out', `${fresh}/`, '--backend', 'cpu']));
    expect(r2.code, r2.err).toBe(0);
    expect(existsSync(join(fresh, 'finch.finercam.png'))).toBe(true);
    expect(readdirSync(imgDir)).toEqual(['finch.png']);
  });
});

describe('explain PNG', () => {
  it('labels the tiles with the class, its probability and the references, and draws the JET scale', async () => {
    const out = join(dir, 'labelled.png');
    const r = await capture(() => main(['explain', img, '--out', out, '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    // "Baseline       main Orange-billed Finch (1) p=0.925  references ..." → the names the PNG must show
    const line = (label: string) => r.out.split('\n').find((l) => l.startsWith(label))!;
    const main0 = /main (.+) \((\d+)\) p=([\d.]+)/.exec(line('Baseline'))!;
    expect(main0[1]).toBe('Orange-billed Finch');
    const refs = (label: string) => /references (.+) {2}α/.exec(line(label))![1].split(', ').map((s) => s.replace(/ \(\d+\)$/, ''));
    const png = F.decodeImage(new Uint8Array(readFileSync(out)));
    // four 96-px tiles; label band of 3 lines (8·3 − 1 + 8 = 31); legend row 8 + margin 10
    const tile = 96;
    const band = 31;
    expect([png.width, png.height]).toEqual([10 + 4 * (tile + 10), 10 + band + tile + 10 + 8 + 10]);
    const expectedLabels = [
      ['Original', main0[1], `p = ${main0[3]}`],
      ['Baseline', main0[1]],
      ['Finer-Default', main0[1], `vs ${refs('Finer-Default').join(', ')}`],
      ['Finer-Compare', main0[1], `vs ${refs('Finer-Compare').join(', ')}`],
    ];
    expectedLabels.forEach((lines, i) => {
      // the band as the font draws these lines, centred: compare pixel by pixel
      const want = createImage(tile, band);
      const fitted = lines.map((l) => fitText(l, tile));
      const top = Math.floor((band - measureText(fitted.join('\n')).height) / 2);
      fitted.forEach((l, li) => drawText(want, Math.floor((tile - measureText(l).width) / 2), top + li * 8, l));
      const x0 = 10 + i * (tile + 10);
      for (let y = 0; y < band; y++) for (let x = 0; x < tile; x++) expect(rgbAt(png, x0 + x, 10 + y), `tile ${i} label (${x},${y})`).toEqual(rgbAt(want, x, y));
    });
    // legend: '0' at the left margin, then the bar from JET(0) to JET(255), then '1'
    const y = 10 + band + tile + 10;
    const barX = 10 + 6 + 3;
    const barW = Math.min(256, png.width - 20 - 2 * 9);
    expect(rgbAt(png, barX, y)).toEqual(JET[0]);
    expect(rgbAt(png, barX + barW - 1, y + 7)).toEqual(JET[255]);
    expect(rgbAt(png, barX + Math.floor(barW / 2), y + 3)).toEqual(JET[Math.round((255 * Math.floor(barW / 2)) / (barW - 1))]);
    expect(rgbAt(png, barX - 1, y)).toEqual([255, 255, 255]);
  });
});
