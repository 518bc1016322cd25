// Mutation fuzzing: corrupted weight files must only ever produce a WeightsFormatError (never a RangeError,
// TypeError, hang or huge allocation), and each parse must stay fast.
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WeightsFormatError, ZipArchive, bytesSource, inflateRaw, parseSafetensors, parseTorchCheckpoint, readTorchCheckpointFromSource,
  unpickle,
} from '../../models/weights';
import { buildZip, fixture } from './helpers';

interface Mutation { kind: 'set' | 'insert' | 'delete' | 'truncate'; at: number; value: number }

const mutation = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('set', 'set', 'set', 'insert', 'delete', 'truncate'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x30, 0x39, 0x2e, 0x0a)),
});

/** Positions are biased toward the start and the end of the file, where headers and directories live. */
function position(bytes: Uint8Array, u: number): number {
  const n = bytes.length;
  if (n === 0) return 0;
  if (u < 0.4) return Math.floor((u / 0.4) * Math.min(n, 1024));
  if (u < 0.7) return n - 1 - Math.floor(((u - 0.4) / 0.3) * Math.min(n, 512));
  return Math.floor(((u - 0.7) / 0.3) * n) % n;
}

function mutate(bytes: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of muts) {
    const at = position(b, m.at);
    if (m.kind === 'set') { if (b.length) b[at] = m.value; }
    else if (m.kind === 'insert') b = new Uint8Array([...b.subarray(0, at), m.value, ...b.subarray(at)]);
    else if (m.kind === 'delete') b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]);
    else b = b.slice(0, at);
  }
  return b;
}

let slowest = 0;

function onlyFormatErrors(fn: () => unknown): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WeightsFormatError)) throw e;
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
}

const runs = (n: number) => ({ numRuns: n, seed: 20240611 });

describe('fuzz: mutated files only ever throw WeightsFormatError', () => {
  for (const name of ['basic.safetensors', 'linear.safetensors']) {
    it(`parseSafetensors(${name})`, () => {
      const base = fixture(name);
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        onlyFormatErrors(() => parseSafetensors(mutate(base, muts)));
      }), runs(600));
    });
  }

  it('parseSafetensors with mutated header numbers', () => {
    const base = fixture('basic.safetensors');
    const n = new DataView(base.buffer, base.byteOffset).getUint32(0, true);
    const text = new TextDecoder().decode(base.subarray(8, 8 + n));
    const digitAt = [...text].flatMap((c, i) => (c >= '0' && c <= '9' ? [i] : []));
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(digitAt.length - 1), fc.stringMatching(/^[0-9-]{1,12}$/)), { minLength: 1, maxLength: 3 }), (edits) => {
      let t = text;
      for (const [i, s] of edits) t = t.slice(0, digitAt[i % digitAt.length]) + s + t.slice(digitAt[i % digitAt.length] + 1);
      const h = new TextEncoder().encode(t);
      const out = new Uint8Array(8 + h.length + base.length - 8 - n);
      new DataView(out.buffer).setUint32(0, h.length, true);
      out.set(h, 8);
      out.set(base.subarray(8 + n), 8 + h.length);
      onlyFormatErrors(() => parseSafetensors(out));
    }), runs(400));
  });

  for (const name of ['linear.pth', 'views.pth', 'basic.pth', 'nested.pth', 'legacy.pth', 'linear_deflated.pth']) {
    it(`parseTorchCheckpoint(${name})`, () => {
      const base = fixture(name);
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        onlyFormatErrors(() => parseTorchCheckpoint(mutate(base, muts)));
      }), runs(name === 'basic.pth' || name === 'nested.pth' ? 300 : 500));
    });
  }

  it('parseTorchCheckpoint with a mutated data.pkl (valid zip around it)', () => {
    const zip = new ZipArchive(fixture('views.pth'));
    const pkl = zip.read('views/data.pkl');
    const others = zip.entries.filter((e) => e.name !== 'views/data.pkl').map((e) => ({ name: e.name, data: zip.read(e) }));
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      const m = mutate(pkl, muts);
      const bytes = buildZip([{ name: 'views/data.pkl', data: m }, ...others]);
      onlyFormatErrors(() => parseTorchCheckpoint(bytes, { unknownGlobals: muts.length % 2 ? 'stub' : 'error' }));
    }), runs(600));
  });

  it('the async reader behaves the same on mutated files', async () => {
    const base = fixture('views.pth');
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (muts) => {
      const bytes = mutate(base, muts);
      let syncErr: unknown, asyncErr: unknown;
      try { parseTorchCheckpoint(bytes); } catch (e) { syncErr = e; }
      try { await readTorchCheckpointFromSource(bytesSource(bytes)); } catch (e) { asyncErr = e; }
      if (asyncErr !== undefined && !(asyncErr instanceof WeightsFormatError)) throw asyncErr;
      expect((asyncErr as Error | undefined)?.message).toBe((syncErr as Error | undefined)?.message);
    }), runs(150));
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom([], [0x50, 0x4b, 3, 4], [0x80, 2], [8, 0, 0, 0, 0, 0, 0, 0]), (b, prefix) => {
      const bytes = new Uint8Array([...prefix, ...b]);
      onlyFormatErrors(() => parseTorchCheckpoint(bytes));
      onlyFormatErrors(() => parseSafetensors(bytes));
      onlyFormatErrors(() => unpickle(bytes));
    }), runs(1500));
  });

  it('unpickle on mutated pickles of every protocol', () => {
    for (const p of [2, 4, 5]) {
      const base = fixture(`values_p${p}.pkl`);
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        onlyFormatErrors(() => unpickle(mutate(base, muts)));
        onlyFormatErrors(() => unpickle(mutate(base, muts), { unknownGlobals: 'stub' }));
      }), runs(400));
    }
  });

  it('inflateRaw on mutated deflate streams', () => {
    const data = new TextEncoder().encode('weights '.repeat(200) + Array.from({ length: 300 }, (_, i) => i * i).join(','));
    const streams = [0, 1, 6, 9].map((level) => new Uint8Array(deflateRawSync(data, { level })));
    fc.assert(fc.property(fc.nat(3), fc.array(mutation, { minLength: 1, maxLength: 4 }), (s, muts) => {
      onlyFormatErrors(() => inflateRaw(mutate(streams[s], muts), data.length, 'fuzz'));
    }), runs(800));
  });

  it('every single parse stayed fast (no corrupted length caused big work)', () => {
    expect(slowest).toBeLessThan(1000);
  });
});
