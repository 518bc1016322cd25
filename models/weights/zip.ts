/**
 * Minimal zip reader for PyTorch checkpoints (and any other zip): central-directory parsing, zip64, stored entries
 * (what torch.save writes, with sizes only in the central directory and data descriptors after the data) and
 * deflated entries. Works on in-memory bytes (`ZipArchive`) or on any RangeSource / file path (`openZip`,
 * `openZipFile`), where only the directory and the requested entries are read.
 *
 * Not supported (clear error): encryption, multi-disk archives, compression methods other than 0 and 8.
 */
import { WeightsFormatError, fail } from './errors';
import { crc32, inflateRaw } from './inflate';
import { type RangeSource, type Reader, openFileSource, runAsync, runSync } from './source';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipReadOptions {
  /**
   * Check CRC-32 of entry contents. Default: checked for deflated entries, not for stored ones (hashing a multi-GB
   * checkpoint in JS costs seconds). `true` checks every entry, `false` none.
   */
  verifyCrc?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand better than ~1032:1; a recorded size beyond this is corrupt (and not allocated). */
const MAX_DEFLATE_RATIO = 1032;

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(v: DataView, at: number, what: string): number {
  const n = v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
  if (!Number.isSafeInteger(n)) fail(`${what}: 64-bit value ${n} is too large`);
  return n;
}

/** Reads the central directory of a zip of `size` bytes. */
export function* zipDirectoryReader(size: number): Reader<ZipEntry[]> {
  if (size < 22) fail(`zip: file is ${size} bytes, too small for an end of central directory record (truncated or not a zip)`);
  const tailLen = Math.min(size, 22 + MAX_COMMENT + 20);
  const tailStart = size - tailLen;
  const tail = yield { offset: tailStart, length: tailLen, what: 'zip: end of central directory' };
  const tv = dv(tail);
  let eocd = -1;
  for (let p = tailLen - 22; p >= 0; p--) {
    if (tv.getUint32(p, true) === SIG_EOCD && p + 22 + tv.getUint16(p + 20, true) === tailLen) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail('zip: end of central directory record not found (file truncated or not a zip archive)');
  const diskNo = tv.getUint16(eocd + 4, true);
  const cdDisk = tv.getUint16(eocd + 6, true);
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  let eocdAbs = tailStart + eocd;
  if (eocd >= 20 && tv.getUint32(eocd - 20, true) === SIG_ZIP64_LOCATOR) {
    const z64At = u64(tv, eocd - 20 + 8, 'zip: zip64 locator');
    if (tv.getUint32(eocd - 20 + 16, true) > 1) fail('zip: multi-disk archives are not supported');
    if (z64At + 56 > eocdAbs - 20) fail(`zip: zip64 end of central directory offset ${z64At} is out of range (truncated file?)`);
    const rec = dv(yield { offset: z64At, length: 56, what: 'zip: zip64 end of central directory' });
    if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) fail(`zip: expected a zip64 end of central directory record at offset ${z64At}`);
    if (rec.getUint32(16, true) !== 0 || rec.getUint32(20, true) !== 0) fail('zip: multi-disk archives are not supported');
    count = u64(rec, 32, 'zip: zip64 entry count');
    cdSize = u64(rec, 40, 'zip: zip64 central directory size');
    cdOffset = u64(rec, 48, 'zip: zip64 central directory offset');
    eocdAbs = z64At;
  } else if (diskNo !== 0 || cdDisk !== 0) {
    fail('zip: multi-disk archives are not supported');
  }
  if (cdOffset + cdSize > eocdAbs) {
    fail(`zip: central directory [${cdOffset}, ${cdOffset + cdSize}) extends past its end record at ${eocdAbs} (truncated or corrupt file)`);
  }
  if (count * 46 > cdSize) fail(`zip: ${count} entries cannot fit in a ${cdSize}-byte central directory`);
  const cd = yield { offset: cdOffset, length: cdSize, what: 'zip: central directory' };
  const cv = dv(cd);
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL) {
      fail(`zip: central directory entry ${i} at offset ${cdOffset + p} is missing or corrupt (expected signature PK\\x01\\x02)`);
    }
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let csize = cv.getUint32(p + 20, true);
    let usize = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    const diskStart = cv.getUint16(p + 34, true);
    let offset = cv.getUint32(p + 42, true);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cdSize) fail(`zip: central directory entry ${i} runs past the end of the directory (corrupt file)`);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
    const what = `zip: entry "${name}"`;
    // zip64 extended information: the 0xffffffff fields, in order.
    if (usize === 0xffffffff || csize === 0xffffffff || offset === 0xffffffff) {
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      let found = false;
      while (e + 4 <= extraEnd) {
        const id = cv.getUint16(e, true);
        const len = cv.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) break;
        if (id === 0x0001) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) fail(`${what}: zip64 extra field is too short`);
            const v = u64(cv, q, what);
            q += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take();
          if (csize === 0xffffffff) csize = take();
          if (offset === 0xffffffff) offset = take();
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) fail(`${what}: sizes need a zip64 extra field, which is missing`);
    }
    if (diskStart !== 0 && diskStart !== 0xffff) fail(`${what}: multi-disk archives are not supported`);
    if (flags & 1) fail(`${what}: encrypted entries are not supported`);
    if (method !== 0 && method !== 8) fail(`${what}: unsupported compression method ${method} (expected 0 = stored or 8 = deflate)`);
    if (method === 0 && csize !== usize) fail(`${what}: stored entry has compressed size ${csize} but uncompressed size ${usize}`);
    if (method === 8 && usize > csize * MAX_DEFLATE_RATIO + 1024) {
      fail(`${what}: uncompressed size ${usize} is impossible for ${csize} deflated bytes (corrupt file)`);
    }
    if (offset + 30 + csize > cdOffset) {
      fail(`${what}: data at offset ${offset} (${csize} bytes) extends past the central directory at ${cdOffset} (corrupt or truncated file)`);
    }
    if (seen.has(name)) fail(`${what}: duplicate entry name`);
    seen.add(name);
    entries.push({ name, method, flags, crc32: crc, compressedSize: csize, uncompressedSize: usize, localHeaderOffset: offset });
    p = next;
  }
  return entries;
}

/** Reads and decompresses one entry of a zip of `size` bytes. */
export function* zipEntryReader(entry: ZipEntry, size: number, options: ZipReadOptions = {}): Reader<Uint8Array> {
  const what = `zip: entry "${entry.name}"`;
  const off = entry.localHeaderOffset;
  const lh = dv(yield { offset: off, length: 30, what: `${what} local header` });
  if (lh.getUint32(0, true) !== SIG_LOCAL) fail(`${what}: expected a local file header (PK\\x03\\x04) at offset ${off}`);
  const start = off + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
  if (start + entry.compressedSize > size) {
    fail(`${what}: data [${start}, ${start + entry.compressedSize}) extends past the ${size}-byte file (truncated file?)`);
  }
  const raw = yield { offset: start, length: entry.compressedSize, what };
  const data = entry.method === 8 ? inflateRaw(raw, entry.uncompressedSize, what) : raw;
  const check = options.verifyCrc ?? entry.method !== 0;
  if (check && crc32(data) !== entry.crc32) fail(`${what}: CRC-32 mismatch (corrupt file)`);
  return data;
}

function indexEntries(entries: ZipEntry[]): Map<string, ZipEntry> {
  return new Map(entries.map((e) => [e.name, e]));
}

/** A zip held in memory. `read` of a stored entry returns a view into the archive bytes. */
export class ZipArchive {
  readonly entries: readonly ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;

  constructor(readonly bytes: Uint8Array) {
    this.entries = runSync(zipDirectoryReader(bytes.length), bytes);
    this.byName = indexEntries(this.entries as ZipEntry[]);
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  read(name: string | ZipEntry, options: ZipReadOptions = {}): Uint8Array {
    const e = typeof name === 'string' ? this.byName.get(name) : name;
    if (!e) throw new WeightsFormatError(`zip: no entry named "${String(name)}"`);
    return runSync(zipEntryReader(e, this.bytes.length, options), this.bytes);
  }
}

/** A zip read by ranges from a RangeSource. */
export interface AsyncZip {
  readonly entries: readonly ZipEntry[];
  entry(name: string): ZipEntry | undefined;
  read(name: string | ZipEntry, options?: ZipReadOptions): Promise<Uint8Array>;
  /** Closes the underlying source, if it has a close(). */
  close(): Promise<void>;
}

export async function openZip(source: RangeSource): Promise<AsyncZip> {
  const entries = await runAsync(zipDirectoryReader(source.size), source);
  const byName = indexEntries(entries);
  return {
    entries,
    entry: (name) => byName.get(name),
    async read(name, options = {}) {
      const e = typeof name === 'string' ? byName.get(name) : name;
      if (!e) throw new WeightsFormatError(`zip: no entry named "${String(name)}"`);
      return runAsync(zipEntryReader(e, source.size, options), source);
    },
    close: async () => { await source.close?.(); },
  };
}

/** Opens a zip file on disk (Node only) for ranged reads; call `close()` when done. */
export async function openZipFile(path: string): Promise<AsyncZip> {
  const src = await openFileSource(path);
  try {
    return await openZip(src);
  } catch (e) {
    await src.close();
    throw e;
  }
}
