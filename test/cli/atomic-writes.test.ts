// A run that dies while writing an output must not leave a truncated file under the output's name.
// The death is simulated in-process: node:fs/promises is wrapped so that writing a chosen file writes
// half of its bytes and then throws, which is what a kill in the middle of the write leaves on disk.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { decodeNpy } from '../../cli/util/npy';
import { bird, capture, removeTempDirs, tempDir, writeClassifier, writeImage, writeTinyVit } from '../fixtures/cli-e2e/build';

const kill = vi.hoisted(() => ({ file: null as RegExp | null, killed: [] as string[] }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const doomed = (p: unknown) => kill.file !== null && kill.file.test(basename(String(p)));
  const half = (data: unknown) => {
    const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
    return b.subarray(0, b.length >> 1);
  };
  const die = (p: unknown): never => {
    kill.killed.push(basename(String(p)));
    throw new Error('simulated kill during the write');
  };
  const writeFile = (async (p: Parameters<typeof fs.writeFile>[0], data: unknown, ...rest: unknown[]) => {
    if (!doomed(p)) return (fs.writeFile as (...a: unknown[]) => Promise<void>)(p, data, ...rest);
    await fs.writeFile(p, half(data));
    return die(p);
  }) as typeof fs.writeFile;
  const open = (async (p: Parameters<typeof fs.open>[0], ...rest: unknown[]) => {
    const fh = await (fs.open as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(p, ...rest);
    if (!doomed(p)) return fh;
    return new Proxy(fh, {
      get(t, k) {
        if (k === 'writeFile') return async (data: unknown) => (await t.writeFile(half(data)), die(p));
        const v = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  }) as typeof fs.open;
  return { ...fs, default: { ...fs, writeFile, open }, writeFile, open };
});

afterAll(removeTempDirs);
afterEach(() => {
  kill.file = null;
  kill.killed.length = 0;
});

let dir: string;
let ds: string;
let model: string[];
beforeAll(async () => {
  dir = tempDir('atomic');
  const vit = await writeTinyVit(dir);
  const head = join(dir, 'head.safetensors');
  await writeClassifier(head, 3, 16, 5);
  model = ['--model', vit.model, '--weights', vit.weights, '--classifier', head];
  ds = join(dir, 'ds');
  writeImage(join(ds, 'A', 'p.png'), bird(0, 1, 30, 26));
  writeImage(join(ds, 'A', 'q.png'), bird(1, 2, 26, 30));
});

const gen = (save: string, ...extra: string[]) => capture(() => main(['generate', '--dataset', ds, '--save', save, ...model, ...extra]));
const read = (p: string) => new Uint8Array(readFileSync(p));

/** Every .npy under its final name is complete, and every sidecar parses and names complete .npy files. */
function expectConsistent(save: string): void {
  const names = readdirSync(save);
  expect(names.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  for (const f of names.filter((n) => n.endsWith('.npy'))) expect(() => decodeNpy(read(join(save, f))), f).not.toThrow();
  for (const f of names.filter((n) => n.endsWith('.json'))) {
    const s = JSON.parse(readFileSync(join(save, f), 'utf8'));
    for (const m of Object.values(s.modes) as { cam: string }[]) expect(decodeNpy(read(join(save, m.cam))).shape).toEqual([s.height, s.width]);
  }
}

describe('generate writes each file atomically, the sidecar last', () => {
  it('killed while rewriting a .npy of a finished image: no truncated file, and --resume redoes that image', async () => {
    const save = join(dir, 'cams');
    expect((await gen(save)).code).toBe(0);
    const reference = new Map(readdirSync(save).map((f) => [f, Buffer.from(read(join(save, f))).toString('base64')]));
    kill.file = /A_q\.finer-default\.npy/;
    await gen(save); // a full rerun, "killed" in the middle of A_q's second CAM
    expect(kill.killed.length).toBeGreaterThan(0);
    kill.file = null;
    expectConsistent(save);
    const r = await gen(save, '--resume');
    expect(r.code).toBe(0);
    expect(r.err).toContain('1 written, 1 skipped');
    expectConsistent(save);
    // the same model and images: the redone files equal the first run's (sidecars differ in nothing either)
    for (const [f, b] of reference) expect(Buffer.from(read(join(save, f))).toString('base64'), f).toBe(b);
  });

  it('killed while writing a sidecar: the earlier sidecar is not left vouching for replaced CAMs', async () => {
    const save = join(dir, 'cams2');
    expect((await gen(save)).code).toBe(0);
    kill.file = /^\.?A_p\.json/;
    await gen(save);
    expect(kill.killed.length).toBeGreaterThan(0);
    kill.file = null;
    expectConsistent(save);
    const r = await gen(save, '--resume');
    expect(r.err).toContain('1 written, 1 skipped');
    expectConsistent(save);
  });

  it('visualize strips are never left half-written', async () => {
    const save = join(dir, 'cams3');
    expect((await gen(save, '--modes', 'baseline')).code).toBe(0);
    const vis = join(dir, 'vis');
    expect((await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '26']))).code).toBe(0);
    const good = read(join(vis, 'A_p.png'));
    kill.file = /A_p\.png/;
    const v = await capture(() => main(['visualize', '--dataset', ds, '--cams', save, '--save', vis, '--tile-height', '26']));
    expect(v.code).toBe(1);
    expect(read(join(vis, 'A_p.png'))).toEqual(good);
    expect(readdirSync(vis).sort()).toEqual(['A_p.png', 'A_q.png']);
  });
});
