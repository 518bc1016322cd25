// generate's names and --resume as a user meets them: images added to a dataset after a run, outputs
// damaged by a killed run or edited by hand, images changed since — and visualize pairing each CAM with
// the image its sidecar names. Tiny random ViT + head, images of ~30 px, in temp folders.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { decodeNpy } from '../../cli/util/npy';
import { bird, capture, removeTempDirs, tempDir, writeClassifier, writeImage, writeTinyVit } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

let dir: string;
let model: string[];
beforeAll(async () => {
  dir = tempDir('resume');
  const vit = await writeTinyVit(dir);
  const head = join(dir, 'head.safetensors');
  await writeClassifier(head, 3, 16, 5);
  model = ['--model', vit.model, '--weights', vit.weights, '--classifier', head];
});

const read = (p: string) => new Uint8Array(readFileSync(p));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const gen = (ds: string, save: string, ...extra: string[]) => capture(() => main(['generate', '--dataset', ds, '--save', save, ...model, ...extra]));
const snapshot = (d: string) => new Map(readdirSync(d).map((f) => [f, Buffer.from(readFileSync(join(d, f))).toString('base64')]));
/** The first tile of a visualize strip at tile height = image height (so it is the image itself). */
function firstTile(strip: F.RgbImage, w: number, h: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) out.push(...strip.data.subarray(((25 + y) * strip.width + 10) * 3, ((25 + y) * strip.width + 10 + w) * 3));
  return out;
}

describe('generate: names stay with their images when images are added', () => {
  it('an image added later with a colliding name gets the next suffix; the earlier outputs keep theirs and are not recomputed', async () => {
    const ds = join(dir, 'grow');
    const save = join(dir, 'grow-cams');
    writeImage(join(ds, 'train', 'A', 'x.png'), bird(0, 1, 30, 28));
    writeImage(join(ds, 'train', 'A', 'y.png'), bird(0, 2, 28, 28));
    expect((await gen(ds, save)).code).toBe(0);
    const before = snapshot(save);
    // test/ sorts before train/: a fresh run would give it A_x
    writeImage(join(ds, 'test', 'A', 'x.png'), bird(1, 3, 24, 20));
    const r = await gen(ds, save, '--resume');
    expect(r.code).toBe(0);
    expect(r.err).toContain('1 written, 2 skipped (--resume), 0 failed');
    const after = snapshot(save);
    for (const [f, b] of before) expect(after.get(f), f).toBe(b);
    expect(json(join(save, 'A_x.json')).source).toBe('train/A/x.png');
    const added = json(join(save, 'A_x__2.json'));
    expect(added.source).toBe('test/A/x.png');
    expect(added.image).toBe(join(ds, 'test', 'A', 'x.png'));
    expect(decodeNpy(read(join(save, 'A_x__2.baseline.npy'))).shape).toEqual([20, 24]);

    // A full rerun (no --resume) recomputes everything under the same names.
    const full = await gen(ds, save);
    expect(full.code).toBe(0);
    expect(full.err).toContain('3 written, 0 skipped');
    expect(readdirSync(save).sort()).toEqual([...after.keys()].sort());
    expect(json(join(save, 'A_x.json')).source).toBe('train/A/x.png');
    expect(json(join(save, 'A_x__2.json')).source).toBe('test/A/x.png');

    // visualize pairs each strip with the image its sidecar names
    const vis = join(dir, 'grow-vis');
    const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '20']));
    expect(v.code).toBe(0);
    expect(readdirSync(vis).sort()).toEqual(['A_x.png', 'A_x__2.png', 'A_y.png']);
    const strip = F.decodeImage(read(join(vis, 'A_x__2.png')));
    expect(firstTile(strip, 24, 20)).toEqual(Array.from(F.decodeImage(read(join(ds, 'test', 'A', 'x.png'))).data));
  });

  it('visualize never overlays a CAM on another image of the same name and size', async () => {
    const ds = join(dir, 'pair');
    const save = join(dir, 'pair-cams');
    writeImage(join(ds, 'train', 'A', 'x.png'), bird(0, 4, 26, 26));
    expect((await gen(ds, save, '--modes', 'baseline')).code).toBe(0);
    // the same name and size, added after generate ran; sorted first, so by name alone it would take A_x
    writeImage(join(ds, 'test', 'A', 'x.png'), bird(1, 5, 26, 26));
    const vis = join(dir, 'pair-vis');
    const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '26']));
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/error: .*test.A.x\.png: no CAMs for this image/);
    expect(readdirSync(vis)).toEqual(['A_x.png']);
    const strip = F.decodeImage(read(join(vis, 'A_x.png')));
    expect(firstTile(strip, 26, 26)).toEqual(Array.from(F.decodeImage(read(join(ds, 'train', 'A', 'x.png'))).data));
  });
  it('a name whose sidecar names another image (moved, or left out of this run) is never reused', async () => {
    const ds = join(dir, 'moved');
    const save = join(dir, 'moved-cams');
    writeImage(join(ds, 'train', 'A', 'x.png'), bird(0, 15, 28, 28));
    expect((await gen(ds, save, '--modes', 'baseline')).code).toBe(0);
    const before = snapshot(save);
    rmSync(join(ds, 'train'), { recursive: true });
    writeImage(join(ds, 'val', 'A', 'x.png'), bird(0, 16, 28, 28));
    const r = await gen(ds, save, '--modes', 'baseline', '--resume');
    expect(r.err).toContain('1 written, 0 skipped');
    for (const [f, b] of before) expect(snapshot(save).get(f), f).toBe(b);
    expect(json(join(save, 'A_x.json')).source).toBe('train/A/x.png');
    expect(json(join(save, 'A_x__2.json')).source).toBe('val/A/x.png');
  });
});

describe('generate --resume verifies what it keeps', () => {
  let ds: string;
  let save: string;
  const keys = ['B_a', 'B_b', 'B_c'];
  beforeAll(async () => {
    ds = join(dir, 'verify');
    save = join(dir, 'verify-cams');
    writeImage(join(ds, 'B', 'a.png'), bird(0, 6, 30, 26));
    writeImage(join(ds, 'B', 'b.png'), bird(1, 7, 22, 29));
    writeImage(join(ds, 'B', 'c.png'), bird(2, 8, 28, 28));
    expect((await gen(ds, save)).code).toBe(0);
  });

  /** Runs --resume and returns which keys were written again (their sidecars were replaced). */
  async function resumeRewrites(): Promise<{ code: number; err: string; rewritten: string[] }> {
    const t = new Map(keys.map((k) => [k, statSync(join(save, `${k}.json`), { throwIfNoEntry: false })?.mtimeMs]));
    await new Promise((r) => setTimeout(r, 20));
    const r = await gen(ds, save, '--resume');
    for (const k of keys) {
      for (const m of ['baseline', 'finer-default', 'finer-compare']) {
        const bytes = read(join(save, `${k}.${m}.npy`));
        const s = json(join(save, `${k}.json`));
        expect(decodeNpy(bytes).shape).toEqual([s.height, s.width]);
      }
    }
    return { code: r.code, err: r.err, rewritten: keys.filter((k) => statSync(join(save, `${k}.json`)).mtimeMs !== t.get(k)) };
  }

  it('a complete folder is kept as it is', async () => {
    const before = snapshot(save);
    const r = await resumeRewrites();
    expect(r.err).toContain('0 written, 3 skipped');
    expect(r.rewritten).toEqual([]);
    expect(snapshot(save)).toEqual(before);
  });

  it('a 0-byte .npy beside a complete sidecar (a run killed while writing) is recomputed', async () => {
    truncateSync(join(save, 'B_b.finer-default.npy'), 0);
    const r = await resumeRewrites();
    expect(r.err).toContain('1 written, 2 skipped');
    expect(r.rewritten).toEqual(['B_b']);
  });

  it('a .npy cut short, or with a header of another size, is recomputed', async () => {
    const p = join(save, 'B_a.baseline.npy');
    truncateSync(p, statSync(p).size - 2);
    const q = join(save, 'B_c.finer-compare.npy');
    const other = read(join(save, 'B_b.finer-compare.npy'));
    writeFileSync(q, other); // complete, but 29×22, not 28×28
    const r = await resumeRewrites();
    expect(r.err).toContain('2 written, 1 skipped');
    expect(r.rewritten).toEqual(['B_a', 'B_c']);
  });

  it('an image changed since (new content, or only a new mtime) is recomputed', async () => {
    writeImage(join(ds, 'B', 'a.png'), bird(0, 9, 30, 26));
    const t = new Date(Date.now() - 60_000);
    utimesSync(join(ds, 'B', 'c.png'), t, t);
    const r = await resumeRewrites();
    expect(r.err).toContain('2 written, 1 skipped');
    expect(r.rewritten).toEqual(['B_a', 'B_c']);
    const s = json(join(save, 'B_c.json'));
    expect(s.mtimeMs).toBe(statSync(join(ds, 'B', 'c.png')).mtimeMs);
    expect(s.size).toBe(statSync(join(ds, 'B', 'c.png')).size);
  });

  it('a sidecar that does not parse, or is not a sidecar, is not trusted; the image keeps its name', async () => {
    const a = join(save, 'B_a.json');
    writeFileSync(a, readFileSync(a, 'utf8').slice(0, 40));
    const b = join(save, 'B_b.json');
    writeFileSync(b, JSON.stringify({ ...json(b), width: '22' }));
    const r = await resumeRewrites();
    expect(r.err).toContain('2 written, 1 skipped');
    expect(r.rewritten).toEqual(['B_a', 'B_b']);
    expect(json(a).source).toBe('B/a.png');
    expect(json(b).width).toBe(22);
  });

  it("keys like __proto__ in a sidecar are data: modes hidden under '__proto__' are not trusted, and 'cam' cannot leave the folder", async () => {
    const a = join(save, 'B_a.json');
    const s = json(a);
    // {"modes": {"__proto__": {...}}}: an object built by assignment would inherit the modes from it
    writeFileSync(a, JSON.stringify(s).replace(/"modes":\{/, '"modes":{"__proto__":{').replace(/,"logits"/, '},"logits"'));
    expect(Object.keys(JSON.parse(readFileSync(a, 'utf8')).modes)).toEqual(['__proto__']);
    const c = join(save, 'B_c.json');
    const sc = json(c);
    sc.modes.baseline.cam = '../verify-cams/B_c.baseline.npy';
    writeFileSync(c, JSON.stringify(sc));
    const r = await resumeRewrites();
    expect(r.err).toContain('2 written, 1 skipped');
    expect(r.rewritten).toEqual(['B_a', 'B_c']);
    expect(json(c).modes.baseline.cam).toBe('B_c.baseline.npy');
  });

  it('__proto__, constructor and hasOwnProperty as class folders and file names work end to end', async () => {
    const odd = join(dir, 'odd');
    const oddSave = join(dir, 'odd-cams');
    writeImage(join(odd, '__proto__', 'constructor.png'), bird(0, 10, 28, 28));
    writeImage(join(odd, 'constructor', 'hasOwnProperty.png'), bird(1, 11, 28, 28));
    writeImage(join(odd, 'hasOwnProperty', '__proto__.png'), bird(2, 12, 28, 28));
    expect((await gen(odd, oddSave, '--modes', 'baseline')).code).toBe(0);
    const again = await gen(odd, oddSave, '--modes', 'baseline', '--resume');
    expect(again.err).toContain('0 written, 3 skipped');
    const vis = join(dir, 'odd-vis');
    const v = await capture(() => main(['visualize', '--dataset', odd, '--cams', oddSave, '--save', vis, '--tile-height', '28']));
    expect(v.code).toBe(0);
    expect(readdirSync(vis).sort()).toEqual(['__proto___constructor.png', 'constructor_hasOwnProperty.png', 'hasOwnProperty___proto__.png']);
  });

  it('leaves no temporary files behind', () => {
    expect(readdirSync(save).filter((f) => f.startsWith('.') || f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(save, 'B_a.json'))).toBe(true);
  });
});

describe('generate over an older output folder', () => {
  it('sidecars without a recorded source (older versions) keep their names and are recomputed once', async () => {
    const ds = join(dir, 'legacy');
    const save = join(dir, 'legacy-cams');
    writeImage(join(ds, 'train', 'A', 'x.png'), bird(0, 13, 28, 28));
    expect((await gen(ds, save, '--modes', 'baseline')).code).toBe(0);
    const s = json(join(save, 'A_x.json'));
    delete s.source;
    delete s.size;
    delete s.mtimeMs;
    writeFileSync(join(save, 'A_x.json'), JSON.stringify(s));
    writeImage(join(ds, 'test', 'A', 'x.png'), bird(1, 14, 28, 28));
    const r = await gen(ds, save, '--modes', 'baseline', '--resume');
    expect(r.err).toContain('2 written, 0 skipped');
    expect(json(join(save, 'A_x.json')).source).toBe('train/A/x.png');
    expect(json(join(save, 'A_x__2.json')).source).toBe('test/A/x.png');
    rmSync(ds, { recursive: true });
  });
});
