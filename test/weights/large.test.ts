// Files larger than 4 GiB, written sparse (only headers and a few tensors hold real bytes), so the path readers'
// ranged reads, 64-bit offsets and zip64 fields are exercised without using disk or memory.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ZipArchive, crc32, openZipFile, readSafetensorsFile, readSafetensorsHeader, openFileSource, readTorchCheckpointFile,
} from '../../models/weights';
import { EXPECTED, concat, expectTensors, fixture, utf8 } from './helpers';

const BIG = 4.5 * 2 ** 30; // > 4 GiB: offsets do not fit in 32 bits
let dir = '';

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'finercam-weights-'));
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function writeSparse(path: string, size: number, pieces: [number, Uint8Array][]): Promise<void> {
  const h = await fs.open(path, 'w');
  try {
    await h.truncate(size);
    for (const [at, bytes] of pieces) await h.write(bytes, 0, bytes.length, at);
  } finally {
    await h.close();
  }
}

const u16 = (v: number) => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, true); return b; };
const u32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64 = (v: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); return b; };

describe('files larger than 4 GiB', () => {
  it('readSafetensorsFile reads tensors past 4 GiB by range', async () => {
    const path = join(dir, 'big.safetensors');
    const header = utf8(JSON.stringify({
      __metadata__: { format: 'pt' },
      huge: { dtype: 'U8', shape: [BIG], data_offsets: [0, BIG] },
      tail: { dtype: 'F32', shape: [2], data_offsets: [BIG, BIG + 8] },
    }).padEnd(200, ' '));
    const dataStart = 8 + header.length;
    await writeSparse(path, dataStart + BIG + 8, [
      [0, concat(u64(header.length), header)],
      [dataStart + BIG, new Uint8Array(new Float32Array([1.5, -2]).buffer)],
    ]);
    const { tensors, metadata } = await readSafetensorsFile(path, { filter: (k) => k === 'tail' });
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(tensors.tail.data as Float32Array)).toEqual([1.5, -2]);
    const src = await openFileSource(path);
    try {
      const h = await readSafetensorsHeader(src);
      expect(h.entries.find((e) => e.key === 'huge')!.end).toBe(BIG);
    } finally {
      await src.close();
    }
  });

  it('readTorchCheckpointFile follows zip64 offsets past 4 GiB', async () => {
    // A zip whose first entry is a 4.5 GiB stored blob of zeros, followed by linear.pth's entries.
    const src = new ZipArchive(fixture('linear.pth'));
    const entries = [{ name: 'linear/padding.bin', size: BIG, data: undefined as Uint8Array | undefined, crc: 0 }];
    for (const e of src.entries) { const data = src.read(e).slice(); entries.push({ name: e.name, size: data.length, data, crc: crc32(data) }); }
    const pieces: [number, Uint8Array][] = [];
    const central: Uint8Array[] = [];
    let off = 0;
    for (const e of entries) {
      const name = utf8(e.name);
      const local = concat(u32(0x04034b50), u16(45), u16(0), u16(0), u32(0), u32(e.crc), u32(0xffffffff), u32(0xffffffff),
        u16(name.length), u16(20), name, u16(1), u16(16), u64(e.size), u64(e.size));
      pieces.push([off, local]);
      if (e.data) pieces.push([off + local.length, e.data]);
      central.push(concat(u32(0x02014b50), u16(45), u16(45), u16(0), u16(0), u32(0), u32(e.crc), u32(0xffffffff), u32(0xffffffff),
        u16(name.length), u16(28), u16(0), u16(0), u16(0), u32(0), u32(0xffffffff), name,
        u16(1), u16(24), u64(e.size), u64(e.size), u64(off)));
      off += local.length + e.size;
    }
    const cd = concat(...central);
    const z64 = concat(u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(entries.length), u64(entries.length), u64(cd.length), u64(off));
    const locator = concat(u32(0x07064b50), u32(0), u64(off + cd.length), u32(1));
    const eocd = concat(u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0xffffffff), u32(0xffffffff), u16(0));
    const tail = concat(cd, z64, locator, eocd);
    pieces.push([off, tail]);
    const path = join(dir, 'big.pth');
    await writeSparse(path, off + tail.length, pieces);

    const zip = await openZipFile(path);
    try {
      expect(zip.entries[0]).toMatchObject({ name: 'linear/padding.bin', uncompressedSize: BIG });
      expect(zip.entries[1].localHeaderOffset).toBeGreaterThan(2 ** 32);
    } finally {
      await zip.close();
    }
    expectTensors(await readTorchCheckpointFile(path), EXPECTED['linear.pth'].tensors);
  });
});
