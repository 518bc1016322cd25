// Resource bombs in weight files: a pickled integer of 32 MB and a 1 MB checkpoint that inflates to 1 GiB of
// zeros. Both must fail fast with a clear error instead of taking seconds and gigabytes (before the fix: 15 s /
// 2 GB and 7 s / 2.1 GB). Honest big integers still decode exactly (values from Python's pickle).
import { readFileSync } from 'node:fs';
import { constants, crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { MAX_HIGHLY_COMPRESSED_BYTES, MAX_INFLATION_RATIO, MAX_LONG_BYTES, parseTorchCheckpoint, unpickle } from '../../models/weights';
import { buildZip, concat, expectFormatError, pickleBytes, utf8 } from './helpers';

const DIR = new URL('../fixtures/weights/loading/', import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const EXPECTED: any = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8'));

function timed<T>(fn: () => T): { ms: number; heapMB: number; value?: T; error?: unknown } {
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  try {
    const value = fn();
    return { ms: performance.now() - t0, heapMB: 0, value };
  } catch (error) {
    const m = process.memoryUsage();
    return { ms: performance.now() - t0, heapMB: (m.heapUsed + m.arrayBuffers - heap0) / 2 ** 20, error };
  }
}

function long4(n: number): Uint8Array {
  const b = new Uint8Array(7 + n + 1);
  b.set([0x80, 2, 0x8b]);
  new DataView(b.buffer).setInt32(3, n, true);
  for (let i = 0; i < n; i++) b[7 + i] = (i * 31 + 7) & 0x7f;
  b[7 + n] = 0x2e; // STOP
  return b;
}

/** BININT (signed 32-bit) of n. */
function binint(n: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = 0x4a;
  new DataView(b.buffer).setInt32(1, n, true);
  return b;
}

/** data.pkl of torch.save({'w': <float32 tensor of numel elements in storage '0'>}). */
function tensorPickle(numel: number): Uint8Array {
  const su = (s: string) => pickleBytes(0x8c, s.length, s);
  return concat(
    pickleBytes(0x80, 2, 0x7d), su('w'), utf8('ctorch._utils\n_rebuild_tensor_v2\n'), pickleBytes(0x28, 0x28), su('storage'),
    utf8('ctorch\nFloatStorage\n'), su('0'), su('cpu'), binint(numel), pickleBytes(0x74, 0x51, 0x4b, 0, 0x28), binint(numel),
    pickleBytes(0x74, 0x28, 0x4b, 1, 0x74, 0x89), utf8('ccollections\nOrderedDict\n'), pickleBytes(0x29, 0x52, 0x74, 0x52, 0x73, 0x2e),
  );
}

/** A zip of data.pkl and one deflated storage entry; the central directory records `usize` and `crc`. */
function checkpointWithDeflated(body: Uint8Array, usize: number, crc: number): Uint8Array {
  // written by hand (not buildZip, which deflates itself) so a 1 GiB entry never exists in memory
  const pkl = tensorPickle(usize / 4);
  const entries = [
    { name: utf8('archive/data.pkl'), data: pkl, method: 0, usize: pkl.length, crc: zlibCrc32(pkl) },
    { name: utf8('archive/data/0'), data: body, method: 8, usize, crc },
  ];
  const locals: Uint8Array[] = [];
  const cds: Uint8Array[] = [];
  let off = 0;
  for (const e of entries) {
    const lh = new Uint8Array(30);
    const lv = new DataView(lh.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, e.method, true);
    lv.setUint32(14, e.crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.usize, true);
    lv.setUint16(26, e.name.length, true);
    locals.push(lh, e.name, e.data);
    const ch = new Uint8Array(46);
    const cv = new DataView(ch.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, e.method, true);
    cv.setUint32(16, e.crc, true);
    cv.setUint32(20, e.data.length, true);
    cv.setUint32(24, e.usize, true);
    cv.setUint16(28, e.name.length, true);
    cv.setUint32(42, off, true);
    cds.push(ch, e.name);
    off += 30 + e.name.length + e.data.length;
  }
  const cd = concat(...cds);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cd.length, true);
  ev.setUint32(16, off, true);
  return concat(...locals, cd, eocd);
}

/** Raw DEFLATE of `mib` MiB of zeros, ~1 KB per MiB: full-flushed 1 MiB blocks repeated, then an empty final block. */
function zeroBomb(mib: number): { body: Uint8Array; crc: number } {
  const zeros = new Uint8Array(1 << 20);
  const chunk = deflateRawSync(zeros, { finishFlush: constants.Z_FULL_FLUSH });
  const end = deflateRawSync(new Uint8Array(0));
  const body = new Uint8Array(chunk.length * mib + end.length);
  let crc = 0;
  for (let i = 0; i < mib; i++) {
    body.set(chunk, i * chunk.length);
    crc = zlibCrc32(zeros, crc);
  }
  body.set(end, chunk.length * mib);
  return { body, crc };
}

describe('pickled integers', () => {
  test('a 32 MB LONG4 integer is refused at once, naming the size and the limit', () => {
    const file = long4(32 << 20);
    const r = timed(() => unpickle(file));
    expect(r.error).toBeDefined();
    expect(String((r.error as Error).message)).toMatch(new RegExp(`LONG4 integer of ${32 << 20} bytes is larger than the ${MAX_LONG_BYTES}-byte limit`));
    expect(r.ms).toBeLessThan(1000);
    expect(r.heapMB).toBeLessThan(64);
  });

  test('integers up to the limit decode exactly and in linear time', () => {
    const { value } = unpickle(new Uint8Array(readFileSync(new URL('bigints.pkl', DIR))));
    expect((value as (number | bigint)[]).map(String)).toEqual(EXPECTED.bigints);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) unpickle(long4(MAX_LONG_BYTES));
    expect(performance.now() - t0).toBeLessThan(1000);
    expectFormatError(() => unpickle(long4(MAX_LONG_BYTES + 1)), /LONG4 integer of 4097 bytes is larger than the 4096-byte limit/);
  });
});

describe('compressed checkpoints', () => {
  test('a 1 MB .pth whose storage inflates to 1 GiB of zeros is refused before inflating', () => {
    const { body, crc } = zeroBomb(1024);
    const file = checkpointWithDeflated(body, 2 ** 30, crc);
    expect(file.length).toBeLessThan(1.2e6);
    const r = timed(() => parseTorchCheckpoint(file));
    expect(r.error).toBeDefined();
    const msg = String((r.error as Error).message);
    expect(msg).toMatch(/zip entry "archive\/data\/0" is deflated \d+:1/);
    expect(msg).toMatch(/torch\.save never compresses/);
    expect(msg).toMatch(/re-zip it without compression \(zip -0\)/);
    expect(r.ms).toBeLessThan(1000);
    expect(r.heapMB).toBeLessThan(64);
  });

  test('deflated entries an honest re-zip gives still load: zeros within the budget, float data at a low ratio', () => {
    // 4 MiB of zeros (ratio ~1000:1) is inside the budget for highly compressed entries
    const small = zeroBomb(4);
    const ck = parseTorchCheckpoint(checkpointWithDeflated(small.body, 4 << 20, small.crc));
    expect(ck.w.shape).toEqual([1 << 20]);
    expect((ck.w.data as Float32Array).every((v) => v === 0)).toBe(true);
    expect(4 << 20).toBeLessThanOrEqual(MAX_HIGHLY_COMPRESSED_BYTES);
    // 20 MiB of float data (more than the budget) at a low ratio is not limited at all
    const n = 5 << 20;
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = Math.sin(i) * 1e3;
    const raw = new Uint8Array(f.buffer);
    const body = new Uint8Array(deflateRawSync(raw, { level: 1 }));
    expect(raw.length / body.length).toBeLessThan(MAX_INFLATION_RATIO);
    const big = parseTorchCheckpoint(checkpointWithDeflated(body, raw.length, zlibCrc32(raw)));
    expect(big.w.data[12345]).toBe(f[12345]);
  });

  test('many highly compressed entries share one budget', () => {
    // storages of 8 MiB of zeros each: two reach the 16 MiB budget, a third passes it
    const pklFor = (keys: string[]) => concat(
      pickleBytes(0x80, 2, 0x7d),
      ...keys.flatMap((k) => [
        pickleBytes(0x8c, 1, k), utf8('ctorch._utils\n_rebuild_tensor_v2\n'), pickleBytes(0x28, 0x28, 0x8c, 7), utf8('storage'),
        utf8('ctorch\nFloatStorage\n'), pickleBytes(0x8c, 1, k, 0x8c, 3), utf8('cpu'), binint(2 << 20), pickleBytes(0x74, 0x51, 0x4b, 0, 0x28),
        binint(2 << 20), pickleBytes(0x74, 0x28, 0x4b, 1, 0x74, 0x89), utf8('ccollections\nOrderedDict\n'), pickleBytes(0x29, 0x52, 0x74, 0x52, 0x73),
      ]),
      pickleBytes(0x2e),
    );
    const file = (keys: string[]) => buildZip([
      { name: 'archive/data.pkl', data: pklFor(keys) },
      ...keys.map((k) => ({ name: `archive/data/${k}`, data: new Uint8Array(8 << 20), method: 8 as const })),
    ]);
    expect(2 * (8 << 20)).toBe(MAX_HIGHLY_COMPRESSED_BYTES);
    expect(Object.keys(parseTorchCheckpoint(file(['a', 'b'])))).toEqual(['a', 'b']);
    expectFormatError(() => parseTorchCheckpoint(file(['a', 'b', 'c'])), /zip entry "archive\/data\/c" is deflated/, /at most 16777216 bytes in all/);
  });
});
