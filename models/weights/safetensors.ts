/**
 * safetensors (https://github.com/huggingface/safetensors) reader and writer.
 *
 * Layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the data region. The header maps
 * tensor names to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data region) plus an
 * optional `__metadata__` string→string map. Validation follows the reference implementation, strictly:
 * N ≤ 100 000 000 and within the file; the JSON is a valid object; every entry has a known dtype, a shape of
 * non-negative integers and integer offsets; `end - begin == numel × sizeof(dtype)`; sorted by offset, the tensors
 * tile the data region exactly (no gaps, no overlaps, nothing left over). Unknown extra fields in an entry are
 * ignored, as the reference does. As the reference's serde_json parsing does, the header is refused when it starts
 * with a byte order mark, when a shape or offset is written with a fraction, exponent or sign (`2.0`, `2e0`, `-0`),
 * or when `__metadata__` or a field of an entry appears twice; duplicated tensor names and metadata keys are refused
 * too (the reference silently keeps the last). `"__metadata__": null` means no metadata, as in the reference.
 * Every error is a WeightsFormatError naming the tensor and what was expected.
 */
import { WeightsFormatError, fail } from './errors';
import {
  type DecodeOptions, type RawTensor, type StorageDType, STORAGE_DTYPES, STORAGE_DTYPE_SIZE,
  decodeElements, describe, encodeElements, isStorageDType, shapeNumel,
} from './raw';
import { type JsonNode, describeJson, parseStrictJson } from './json';
import { type RangeSource, type Reader, runAsync, runSync, withFileSource } from './source';

/** Largest accepted JSON header, as in the reference implementation. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  key: string;
  dtype: StorageDType;
  shape: number[];
  /** Byte offsets relative to the start of the data region. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute file offset of the data region (8 + header length). */
  dataOffset: number;
  /** Entries in header order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

export interface SafetensorsOptions extends DecodeOptions {
  /** Only tensors whose key passes are decoded (the others are still validated, but not read). */
  filter?: (key: string) => boolean;
}

export interface SafetensorsFile {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Assigns an own enumerable property (safe for keys like "__proto__"). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The values of an array of JSON integers written without sign, fraction or exponent (what the reference's usize
 * fields accept: `2.0`, `2e0` and `-0` are refused there), or undefined. Values beyond 2^53 stay imprecise here and
 * are caught by the size checks.
 */
function integerArray(node: JsonNode): number[] | undefined {
  if (node.kind !== 'array') return undefined;
  const out: number[] = [];
  for (const item of node.items) {
    if (item.kind !== 'number' || !/^(0|[1-9][0-9]*)$/.test(item.raw) || !Number.isSafeInteger(item.value)) return undefined;
    out.push(item.value);
  }
  return out;
}

function readU64(bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return v.getUint32(4, true) * 2 ** 32 + v.getUint32(0, true);
}

/**
 * Validates a header's JSON bytes against a data region of `dataSize` bytes. Exposed for tools that only list
 * tensors; `parseSafetensors` and the readers call it.
 */
export function parseSafetensorsHeader(json: Uint8Array, dataSize: number): Omit<SafetensorsHeader, 'dataOffset'> {
  if (json[0] === 0xef && json[1] === 0xbb && json[2] === 0xbf) {
    fail('safetensors: header starts with a UTF-8 byte order mark (EF BB BF); the header must be plain JSON, as the reference implementation requires');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    fail('safetensors: header is not valid UTF-8');
  }
  const root = parseStrictJson(text, 'safetensors: header');
  if (root.kind !== 'object') fail(`safetensors: expected the header to be a JSON object, got ${describeJson(root)}`);
  const metadata: Record<string, string> = Object.create(null);
  const entries: SafetensorsEntry[] = [];
  const names = new Set<string>();
  let sawMetadata = false;
  for (const [key, value] of root.entries) {
    if (key === '__metadata__') {
      if (sawMetadata) fail('safetensors: the header holds __metadata__ twice (expected at most one, as the reference implementation requires)');
      sawMetadata = true;
      if (value.kind === 'null') continue; // the reference reads it as an absent Option
      if (value.kind !== 'object') fail(`safetensors: expected __metadata__ to be an object of strings, got ${describeJson(value)}`);
      for (const [mk, mv] of value.entries) {
        if (mv.kind !== 'string') fail(`safetensors: __metadata__ entry "${mk}": expected a string value, got ${describeJson(mv)}`);
        if (hasOwn(metadata, mk)) fail(`safetensors: __metadata__ holds the key "${mk}" twice (which value is meant is ambiguous)`);
        setOwn(metadata, mk, mv.value);
      }
      continue;
    }
    const what = `safetensors: tensor "${key}"`;
    if (names.has(key)) fail(`${what}: the header names this tensor twice (expected unique tensor names)`);
    names.add(key);
    if (value.kind !== 'object') fail(`${what}: expected an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
    const fields = new Map<string, JsonNode>();
    for (const [field, v] of value.entries) {
      if (field !== 'dtype' && field !== 'shape' && field !== 'data_offsets') continue; // unknown fields are ignored, as in the reference
      if (fields.has(field)) fail(`${what}: duplicate field "${field}"`);
      fields.set(field, v);
    }
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!fields.has(field)) fail(`${what}: missing "${field}" (expected dtype, shape and data_offsets)`);
    }
    const dtypeNode = fields.get('dtype')!;
    const dtype = dtypeNode.kind === 'string' ? dtypeNode.value : undefined;
    if (!isStorageDType(dtype)) {
      fail(`${what}: unknown dtype ${describeJson(dtypeNode)} (expected one of ${STORAGE_DTYPES.join(', ')})`);
    }
    const shapeNode = fields.get('shape')!;
    const shape = integerArray(shapeNode);
    if (!shape) fail(`${what}: expected shape to be an array of non-negative integers (no fraction or exponent), got ${describeJson(shapeNode)}`);
    const numel = shapeNumel(shape, what);
    const offsNode = fields.get('data_offsets')!;
    const offs = integerArray(offsNode);
    if (!offs || offs.length !== 2) {
      fail(`${what}: expected data_offsets to be [begin, end] with non-negative integers (no fraction or exponent), got ${describeJson(offsNode)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) {
      fail(`${what}: data_offsets [${begin}, ${end}] extend past the ${dataSize}-byte data region (truncated file?)`);
    }
    const expected = numel * STORAGE_DTYPE_SIZE[dtype];
    if (end - begin !== expected) {
      fail(
        `${what}: size mismatch: shape ${JSON.stringify(shape)} × ${STORAGE_DTYPE_SIZE[dtype]} bytes (${dtype}) ` +
          `= ${expected} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    entries.push({ key, dtype, shape, begin, end });
  }
  // The tensors, sorted by offset, must tile [0, dataSize) exactly.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin !== pos) {
      const what = `safetensors: tensor "${e.key}"`;
      if (e.begin < pos) {
        fail(`${what}: data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev!.key}" [${prev!.begin}, ${prev!.end}]`);
      }
      fail(`${what}: data_offsets begin at ${e.begin}, expected ${pos} (gap after ${prev ? `tensor "${prev.key}"` : 'the header'})`);
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== dataSize) {
    fail(`safetensors: data region is ${dataSize} bytes but the tensors cover only ${pos} (trailing bytes not described by the header)`);
  }
  return { entries, metadata };
}

function* headerReader(size: number): Reader<SafetensorsHeader> {
  if (size < 8) fail(`safetensors: file is ${size} bytes, expected at least 8 (the header length)`);
  const n = readU64(yield { offset: 0, length: 8, what: 'safetensors: header length' }, 0);
  if (n > MAX_SAFETENSORS_HEADER_BYTES) {
    fail(`safetensors: header length ${n} is too large (expected at most ${MAX_SAFETENSORS_HEADER_BYTES} bytes)`);
  }
  if (8 + n > size) fail(`safetensors: header length ${n} exceeds the ${size}-byte file (truncated file?)`);
  if (n < 2) fail(`safetensors: header length ${n} is too small for a JSON object`);
  const json = yield { offset: 8, length: n, what: 'safetensors: header' };
  return { dataOffset: 8 + n, ...parseSafetensorsHeader(json, size - 8 - n) };
}

function* fileReader(size: number, options: SafetensorsOptions): Reader<SafetensorsFile> {
  const header = yield* headerReader(size);
  const tensors: Record<string, RawTensor> = Object.create(null);
  for (const e of header.entries) {
    if (options.filter && !options.filter(e.key)) continue;
    const what = `safetensors: tensor "${e.key}"`;
    const numel = (e.end - e.begin) / STORAGE_DTYPE_SIZE[e.dtype];
    const bytes = yield { offset: header.dataOffset + e.begin, length: e.end - e.begin, what };
    const { dtype, data } = decodeElements(bytes, e.dtype, numel, what, options);
    setOwn(tensors, e.key, { dtype, shape: e.shape, data, sourceDtype: e.dtype } as RawTensor);
  }
  return { tensors, metadata: header.metadata };
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, options: SafetensorsOptions = {}): SafetensorsFile {
  return runSync(fileReader(bytes.length, options), bytes);
}

/** Reads only the header (tensor names, dtypes, shapes, offsets, metadata) from a source. */
export async function readSafetensorsHeader(source: RangeSource): Promise<SafetensorsHeader> {
  return runAsync(headerReader(source.size), source);
}

/** Reads a safetensors file from a RangeSource (e.g. `blobSource(file)` in a browser), tensor by tensor. */
export async function readSafetensorsFromSource(source: RangeSource, options: SafetensorsOptions = {}): Promise<SafetensorsFile> {
  return runAsync(fileReader(source.size, options), source);
}

/**
 * Reads a safetensors file from disk (Node only): the header first, then each tensor by its byte range, so files
 * larger than 2 GiB work and only one tensor's raw bytes are held at a time.
 */
export async function readSafetensorsFile(path: string, options: SafetensorsOptions = {}): Promise<SafetensorsFile> {
  return withFileSource(path, (src) => readSafetensorsFromSource(src, options));
}

/**
 * Serializes tensors to safetensors bytes. float32 → F32, int32 → I32, int64 (BigInt64Array) → I64, bool → BOOL.
 * Tensors are laid out by decreasing element size (then in the given order) so every tensor is aligned to its
 * element size, and the header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
 */
export function serializeSafetensors(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const items: { key: string; dtype: StorageDType; shape: number[]; bytes: Uint8Array }[] = [];
  for (const key of Object.keys(tensors)) {
    const what = `serializeSafetensors: tensor "${key}"`;
    if (key === '__metadata__') fail(`${what}: the name __metadata__ is reserved`);
    const t = tensors[key];
    if (t === null || typeof t !== 'object') fail(`${what}: expected a RawTensor, got ${describe(t)}`);
    const numel = shapeNumel(t.shape, what);
    if (!ArrayBuffer.isView(t.data) || t.data.length !== numel) {
      fail(`${what}: shape ${JSON.stringify(t.shape)} has ${numel} elements, but data has ${ArrayBuffer.isView(t.data) ? t.data.length : describe(t.data)}`);
    }
    const { dtype, bytes } = encodeElements(t, what);
    items.push({ key, dtype, shape: t.shape.slice(), bytes });
  }
  items.sort((a, b) => STORAGE_DTYPE_SIZE[b.dtype] - STORAGE_DTYPE_SIZE[a.dtype]); // stable
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object') fail(`serializeSafetensors: expected metadata to be an object of strings`);
    const m: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`serializeSafetensors: metadata "${k}": expected a string value, got ${describe(v)}`);
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    if (m.length) parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let pos = 0;
  for (const it of items) {
    const end = pos + it.bytes.length;
    parts.push(`${JSON.stringify(it.key)}:{"dtype":"${it.dtype}","shape":${JSON.stringify(it.shape)},"data_offsets":[${pos},${end}]}`);
    pos = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_SAFETENSORS_HEADER_BYTES) throw new WeightsFormatError('serializeSafetensors: header would exceed 100 MB');
  const out = new Uint8Array(8 + padded + pos);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let at = 8 + padded;
  for (const it of items) {
    out.set(it.bytes, at);
    at += it.bytes.length;
  }
  return out;
}
