/**
 * PyTorch checkpoints (`torch.save`): the zip format (PyTorch ≥ 1.6: `<archive>/data.pkl` + one uncompressed
 * `<archive>/data/<key>` entry per storage, optional `<archive>/byteorder`) and the legacy non-zip format (a
 * sequence of pickles followed by raw storages, `_use_new_zipfile_serialization=False`).
 *
 * `data.pkl` is read with the safe unpickler (see unpickle.ts: nothing is executed, only an allowlist of globals).
 * Each tensor is rebuilt from its storage with its storage offset, size and stride, so non-contiguous saved views
 * (a transposed weight, a slice) and tensors sharing one storage come out right; the result is always a fresh
 * contiguous row-major array. Element types are converted as described in raw.ts.
 *
 * Structure: a plain state dict (`{name: tensor}`, possibly an OrderedDict) gives `{name: RawTensor}`. Nested
 * containers — `{'state_dict': {...}, 'epoch': 3}`, `{'model': {...}}`, lists — are flattened by default into
 * dotted keys (`'state_dict.fc.weight'`, `'layers.0'`); pick a sub-dict with `select: 'state_dict'` (or a path
 * `['model', 'backbone']`) and/or drop a prefix with `stripPrefix: 'module.'`. Non-tensor leaves (epoch numbers,
 * strings, …) are returned by the `*Full` variants in `values`, keyed the same way, with the per-module versions a
 * state dict's `_metadata` recorded in `versions`. Deflated zip entries (a re-zipped checkpoint) are bounded: see
 * MAX_INFLATION_RATIO.
 */
import { PickleTruncatedError, WeightsFormatError, fail } from './errors';
import {
  type DecodeOptions, type RawTensor, STORAGE_DTYPE_SIZE, decodeElements, describe,
} from './raw';
import { setOwn } from './safetensors';
import { type RangeSource, type Reader, runAsync, runSync, withFileSource } from './source';
import {
  PyStub, TorchStorageRef, TorchTensorRef, type UnpickleOptions, pyAttributes, torchPersistentLoad, unpickle,
} from './unpickle';
import { type ZipEntry, type ZipReadOptions, zipDirectoryReader, zipEntryReader } from './zip';

export interface TorchLoadOptions extends DecodeOptions, ZipReadOptions {
  /** Non-allowlisted globals: 'error' (default) or 'stub' (inert placeholders; see unpickle.ts). */
  unknownGlobals?: UnpickleOptions['unknownGlobals'];
  /** Take the state dict from this key (or key path) of the top-level dict, e.g. 'state_dict', 'model'. */
  select?: string | readonly string[];
  /**
   * Flatten nested dicts/lists into dotted keys (default true). With false only tensors directly in the (selected)
   * dict are returned; nested containers go to `values` as they are.
   */
  flatten?: boolean;
  /** Remove this prefix from every key that starts with it (e.g. 'module.' from DataParallel, 'state_dict.'). */
  stripPrefix?: string;
  /** Only tensors whose final key passes are read and decoded. */
  filter?: (key: string) => boolean;
  /**
   * Largest element count allowed for a tensor that has more elements than its storage (an expanded / overlapping
   * view, e.g. stride 0). Default 2^24. Guards against a corrupt size × stride allocating gigabytes.
   */
  maxExpandedElements?: number;
}

export interface TorchCheckpoint {
  tensors: Record<string, RawTensor>;
  /** Non-tensor leaves (numbers, strings, booleans, null, bigint, bytes, PyStub, empty containers), by key. */
  values: Record<string, unknown>;
  /** The whole unpickled object, tensors left as TorchTensorRef (structure only; data is in `tensors`). */
  root: unknown;
  format: 'zip' | 'legacy';
  /**
   * The versions `state_dict()` recorded per module in the OrderedDict's `_metadata` (module path → version), keyed
   * like `tensors` (same flattening and prefix stripping; '' is the root module). Empty when the pickle carried no
   * `_metadata`. torch's `load_state_dict` reads them, e.g. BatchNorm fills a missing `num_batches_tracked` only
   * below version 2.
   */
  versions: Map<string, number>;
}

/**
 * torch.save stores every zip entry uncompressed, so a deflated entry means the archive was re-zipped. Such entries
 * may expand at most MAX_INFLATION_RATIO times their compressed size; beyond that (zeros deflate ~1000:1) they may
 * inflate to MAX_HIGHLY_COMPRESSED_BYTES in all, enough for the all-zero buffers and small tensors of an honest
 * checkpoint, while a 1 MB file that claims a gigabyte of zeros is refused before anything is inflated.
 */
export const MAX_INFLATION_RATIO = 32;
export const MAX_HIGHLY_COMPRESSED_BYTES = 16 * 2 ** 20;

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const MAX_DEPTH = 200;

function keyString(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return String(k);
  return describe(k);
}

interface Collected {
  refs: { key: string; ref: TorchTensorRef }[];
  values: Record<string, unknown>;
  versions: Map<string, number>;
}

/** `path` with `strip` removed the way tensor keys are (module paths lack the trailing dot of a key prefix). */
function stripModulePath(path: string, strip: string | undefined): string {
  if (!strip) return path;
  const dotted = path === '' ? '' : `${path}.`;
  if (!dotted.startsWith(strip)) return path;
  const rest = dotted.slice(strip.length);
  return rest.endsWith('.') ? rest.slice(0, -1) : rest;
}

/** Walks the unpickled object into (key, tensor) pairs and non-tensor values. */
function collect(root: unknown, options: TorchLoadOptions): Collected {
  let node = root;
  if (options.select !== undefined) {
    const path = typeof options.select === 'string' ? [options.select] : options.select;
    const walked: string[] = [];
    for (const k of path) {
      if (node instanceof PyStub && node.dictItems.size > 0) node = node.dictItems;
      if (!(node instanceof Map)) fail(`torch checkpoint: select ${describe(path)}: "${walked.join('.')}" is ${describe(node)}, not a dict`);
      if (!node.has(k)) {
        const keys = [...node.keys()].slice(0, 20).map(keyString);
        fail(`torch checkpoint: select ${describe(path)}: no key "${k}"${walked.length ? ` under "${walked.join('.')}"` : ''} (keys: ${keys.join(', ')})`);
      }
      node = node.get(k);
      walked.push(k);
    }
  }
  const flatten = options.flatten ?? true;
  const refs: Collected['refs'] = [];
  const values: Record<string, unknown> = Object.create(null);
  const versions = new Map<string, number>();
  const seenKeys = new Set<string>();
  const seenContainers = new Set<unknown>();
  const strip = options.stripPrefix;
  const add = (rawKey: string, v: unknown) => {
    const key = strip && rawKey.startsWith(strip) ? rawKey.slice(strip.length) : rawKey;
    if (seenKeys.has(key)) fail(`torch checkpoint: two entries flatten to the same key "${key}"`);
    seenKeys.add(key);
    if (v instanceof TorchTensorRef) {
      if (!options.filter || options.filter(key)) refs.push({ key, ref: v });
    } else {
      setOwn(values, key, v);
    }
  };
  const visit = (v: unknown, prefix: string, depth: number) => {
    // A stub of an unknown dict subclass (e.g. collections.defaultdict) is walked like a dict.
    if (v instanceof PyStub && v.dictItems.size > 0 && (flatten || depth === 0)) v = v.dictItems;
    const isContainer = v instanceof Map || Array.isArray(v);
    if (!isContainer || (depth > 0 && !flatten)) {
      add(prefix, v);
      return;
    }
    if ((v instanceof Map ? v.size : (v as unknown[]).length) === 0 && depth > 0) {
      add(prefix, v);
      return;
    }
    if (depth >= MAX_DEPTH) fail(`torch checkpoint: containers nested deeper than ${MAX_DEPTH} levels at "${prefix}"`);
    if (seenContainers.has(v)) return; // shared or cyclic reference: already visited
    seenContainers.add(v);
    const meta = pyAttributes(v)?.get('_metadata');
    if (meta instanceof Map) {
      for (const [modulePath, local] of meta) {
        const version = local instanceof Map ? local.get('version') : undefined;
        if (typeof modulePath !== 'string' || typeof version !== 'number') continue;
        const full = prefix === '' ? modulePath : modulePath === '' ? prefix : `${prefix}.${modulePath}`;
        versions.set(stripModulePath(full, strip), version);
      }
    }
    const entries: Iterable<[unknown, unknown]> = v instanceof Map ? v.entries() : (v as unknown[]).entries();
    for (const [k, child] of entries) visit(child, prefix === '' && depth === 0 ? keyString(k) : `${prefix}.${keyString(k)}`, depth + 1);
  };
  if (node instanceof TorchTensorRef) add('', node);
  else if (node instanceof Map || Array.isArray(node) || (node instanceof PyStub && node.dictItems.size > 0)) visit(node, '', 0);
  else fail(`torch checkpoint: expected a dict of tensors (a state dict), got ${node instanceof PyStub ? `an object of type ${node.global.qualifiedName}` : describe(node)}`);
  return { refs, values, versions };
}

/** Copies the elements of a strided view into contiguous bytes (a view of `storage` when already contiguous). */
function gather(storage: Uint8Array, ref: TorchTensorRef, key: string, maxExpanded: number): { bytes: Uint8Array; numel: number } {
  const what = `torch checkpoint: tensor "${key}"`;
  const es = STORAGE_DTYPE_SIZE[ref.storage.dtype];
  const { size, stride, storageOffset } = ref;
  let numel = 1;
  for (const s of size) numel *= s;
  if (numel === 0) return { bytes: new Uint8Array(0), numel: 0 };
  if (!Number.isSafeInteger(numel)) fail(`${what}: size ${describe(size)} has too many elements`);
  let last = storageOffset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if (!Number.isSafeInteger(last) || last >= ref.storage.numel) {
    fail(
      `${what}: view (offset ${storageOffset}, size ${describe(size)}, stride ${describe(stride)}) reaches element ${last}, ` +
        `but storage "${ref.storage.key}" has only ${ref.storage.numel} elements`,
    );
  }
  if (numel > ref.storage.numel && numel > maxExpanded) {
    fail(
      `${what}: ${numel} elements from a storage of ${ref.storage.numel} (overlapping/expanded view) exceeds ` +
        `maxExpandedElements = ${maxExpanded}`,
    );
  }
  // Contiguous? (dimensions of size 1 may have any stride)
  let contiguous = true;
  let expect = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) { contiguous = false; break; }
    expect *= size[d];
  }
  if (contiguous) return { bytes: storage.subarray(storageOffset * es, (storageOffset + numel) * es), numel };
  const out = new Uint8Array(numel * es);
  const nd = size.length;
  const inner = size[nd - 1];
  const innerStride = stride[nd - 1] * es;
  const idx = new Array<number>(nd).fill(0);
  let base = storageOffset * es;
  let o = 0;
  for (;;) {
    if (innerStride === es) {
      out.set(storage.subarray(base, base + inner * es), o);
      o += inner * es;
    } else {
      for (let i = 0, p = base; i < inner; i++, p += innerStride) for (let b = 0; b < es; b++) out[o++] = storage[p + b];
    }
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      base += stride[d] * es;
      if (idx[d] < size[d]) break;
      base -= size[d] * stride[d] * es;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return { bytes: out, numel };
}

function materialize(
  storageBytes: Uint8Array, refs: { key: string; ref: TorchTensorRef }[], out: Map<string, RawTensor>,
  options: TorchLoadOptions, littleEndian: boolean,
): void {
  const maxExpanded = options.maxExpandedElements ?? 2 ** 24;
  for (const { key, ref } of refs) {
    const { bytes, numel } = gather(storageBytes, ref, key, maxExpanded);
    const { dtype, data } = decodeElements(bytes, ref.storage.dtype, numel, `torch checkpoint: tensor "${key}"`, options, littleEndian);
    out.set(key, { dtype, shape: ref.size.slice(), data, sourceDtype: ref.storage.dtype } as RawTensor);
  }
}

/** Groups tensors by storage (so each storage is read once, then released), checking dtype consistency. */
function byStorage(refs: Collected['refs']): Map<string, { storage: TorchStorageRef; refs: Collected['refs'] }> {
  const groups = new Map<string, { storage: TorchStorageRef; refs: Collected['refs'] }>();
  for (const r of refs) {
    const s = r.ref.storage;
    const g = groups.get(s.key);
    if (!g) groups.set(s.key, { storage: s, refs: [r] });
    else {
      if (g.storage.dtype !== s.dtype || g.storage.numel !== s.numel) {
        fail(`torch checkpoint: storage "${s.key}" is referenced as ${g.storage.typeName}(${g.storage.numel}) and as ${s.typeName}(${s.numel})`);
      }
      g.refs.push(r);
    }
  }
  return groups;
}

function finish(collected: Collected, tensors: Map<string, RawTensor>, root: unknown, format: TorchCheckpoint['format']): TorchCheckpoint {
  const record: Record<string, RawTensor> = Object.create(null);
  for (const { key } of collected.refs) setOwn(record, key, tensors.get(key)!);
  return { tensors: record, values: collected.values, root, format, versions: collected.versions };
}

const decoder = new TextDecoder();

function checkCompression(entries: readonly ZipEntry[]): void {
  let budget = MAX_HIGHLY_COMPRESSED_BYTES;
  for (const e of entries) {
    if (e.method !== 8 || e.uncompressedSize <= e.compressedSize * MAX_INFLATION_RATIO) continue;
    budget -= e.uncompressedSize;
    if (budget < 0) {
      const ratio = Math.round(e.uncompressedSize / Math.max(1, e.compressedSize));
      fail(
        `torch checkpoint: zip entry "${e.name}" is deflated ${ratio}:1 (${e.compressedSize} bytes that inflate to ` +
          `${e.uncompressedSize}); torch.save never compresses, and entries compressed beyond ${MAX_INFLATION_RATIO}:1 may ` +
          `inflate to at most ${MAX_HIGHLY_COMPRESSED_BYTES} bytes in all. Re-save the checkpoint with torch.save, or ` +
          `re-zip it without compression (zip -0)`,
      );
    }
  }
}

function* zipCheckpointReader(size: number, options: TorchLoadOptions): Reader<TorchCheckpoint> {
  const entries = yield* zipDirectoryReader(size);
  checkCompression(entries);
  const byName = new Map<string, ZipEntry>(entries.map((e) => [e.name, e]));
  const pkls = entries.filter((e) => /^([^/]+\/)?data\.pkl$/.test(e.name));
  if (pkls.length === 0) fail('torch checkpoint: zip archive has no data.pkl (not a torch.save checkpoint)');
  if (pkls.length > 1) fail(`torch checkpoint: zip archive has several data.pkl entries (${pkls.map((e) => e.name).join(', ')})`);
  const prefix = pkls[0].name.slice(0, -'data.pkl'.length);
  if (byName.has(`${prefix}constants.pkl`) || entries.some((e) => e.name.startsWith(`${prefix}code/`))) {
    fail('torch checkpoint: this is a TorchScript archive (torch.jit.save), which is not supported; save model.state_dict() with torch.save instead');
  }
  let littleEndian = true;
  const bo = byName.get(`${prefix}byteorder`);
  if (bo) {
    if (bo.uncompressedSize > 16) fail(`torch checkpoint: byteorder record is ${bo.uncompressedSize} bytes, expected 'little' or 'big'`);
    const s = decoder.decode(yield* zipEntryReader(bo, size, { verifyCrc: true })).trim();
    if (s !== 'little' && s !== 'big') fail(`torch checkpoint: byteorder is ${describe(s)}, expected 'little' or 'big'`);
    littleEndian = s === 'little';
  }
  const pkl = yield* zipEntryReader(pkls[0], size, { verifyCrc: options.verifyCrc ?? true });
  let root: unknown;
  try {
    root = unpickle(pkl, { unknownGlobals: options.unknownGlobals }).value;
  } catch (e) {
    if (e instanceof WeightsFormatError) throw new WeightsFormatError(`torch checkpoint "${pkls[0].name}": ${e.message}`);
    throw e;
  }
  const collected = collect(root, options);
  const tensors = new Map<string, RawTensor>();
  for (const { storage, refs } of byStorage(collected.refs).values()) {
    const name = `${prefix}data/${storage.key}`;
    const entry = byName.get(name);
    if (!entry) fail(`torch checkpoint: storage "${storage.key}" (used by tensor "${refs[0].key}") is missing: no zip entry "${name}"`);
    const expected = storage.numel * STORAGE_DTYPE_SIZE[storage.dtype];
    if (entry.uncompressedSize !== expected) {
      fail(
        `torch checkpoint: storage "${storage.key}" (used by tensor "${refs[0].key}"): expected ${storage.numel} × ` +
          `${STORAGE_DTYPE_SIZE[storage.dtype]} bytes (${storage.typeName}) = ${expected} bytes, zip entry has ${entry.uncompressedSize}`,
      );
    }
    const bytes = yield* zipEntryReader(entry, size, options);
    materialize(bytes, refs, tensors, options, littleEndian);
  }
  return finish(collected, tensors, root, 'zip');
}

function* legacyCheckpointReader(size: number, options: TorchLoadOptions): Reader<TorchCheckpoint> {
  // The leading pickles are small; read a window and grow it if a pickle runs past its end.
  let window = Math.min(size, 1 << 20);
  let head = yield { offset: 0, length: window, what: 'torch checkpoint (legacy format)' };
  const storages = new Map<string, TorchStorageRef>();
  let parsed: unknown[] = [];
  let end = 0;
  for (;;) {
    try {
      parsed = [];
      storages.clear();
      let pos = 0;
      for (let i = 0; i < 5; i++) {
        const r = unpickle(head, {
          offset: pos,
          unknownGlobals: options.unknownGlobals,
          persistentLoad: (pid) => {
            if (i !== 3) fail(`torch checkpoint (legacy): unexpected persistent id ${describe(pid)}`);
            const s = torchPersistentLoad(pid);
            const prev = storages.get(s.key);
            if (prev && (prev.dtype !== s.dtype || prev.numel !== s.numel)) {
              fail(`torch checkpoint: storage "${s.key}" is referenced as ${prev.typeName}(${prev.numel}) and as ${s.typeName}(${s.numel})`);
            }
            storages.set(s.key, s);
            return s;
          },
        });
        parsed.push(r.value);
        pos = r.end;
        if (i === 0 && r.value !== LEGACY_MAGIC) fail('torch checkpoint: not a PyTorch file (legacy magic number mismatch)');
        if (i === 1 && r.value !== 1001) fail(`torch checkpoint (legacy): protocol version ${describe(r.value)}, expected 1001`);
      }
      end = pos;
      break;
    } catch (e) {
      if (!(e instanceof PickleTruncatedError) || window >= size) throw e;
      window = Math.min(size, window * 4);
      head = yield { offset: 0, length: window, what: 'torch checkpoint (legacy format)' };
    }
  }
  const [, , sysInfo, root, keys] = parsed;
  const littleEndian = !(sysInfo instanceof Map && sysInfo.get('little_endian') === false);
  const collected = collect(root, options);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail('torch checkpoint (legacy): storage key list is not a list of strings');
  const groups = byStorage(collected.refs);
  const tensors = new Map<string, RawTensor>();
  let pos = end;
  for (const key of keys as string[]) {
    const storage = storages.get(key);
    if (!storage) fail(`torch checkpoint (legacy): storage "${key}" is listed but no tensor uses it`);
    const hb = yield { offset: pos, length: 8, what: `torch checkpoint (legacy): storage "${key}" header` };
    const hdr = new DataView(hb.buffer, hb.byteOffset, 8);
    const numel = hdr.getUint32(littleEndian ? 4 : 0, littleEndian) * 2 ** 32 + hdr.getUint32(littleEndian ? 0 : 4, littleEndian);
    if (numel !== storage.numel) fail(`torch checkpoint (legacy): storage "${key}" records ${numel} elements, expected ${storage.numel}`);
    const nbytes = numel * STORAGE_DTYPE_SIZE[storage.dtype];
    pos += 8;
    const g = groups.get(key);
    if (g) {
      const bytes = yield { offset: pos, length: nbytes, what: `torch checkpoint (legacy): storage "${key}"` };
      materialize(bytes, g.refs, tensors, options, littleEndian);
    } else if (pos + nbytes > size) {
      fail(`torch checkpoint (legacy): storage "${key}" extends past the end of the file (truncated file?)`);
    }
    pos += nbytes;
  }
  for (const { key, ref } of collected.refs) {
    if (!tensors.has(key)) fail(`torch checkpoint (legacy): tensor "${key}" uses storage "${ref.storage.key}", which is not in the file`);
  }
  return finish(collected, tensors, root, 'legacy');
}

function* checkpointReader(size: number, options: TorchLoadOptions): Reader<TorchCheckpoint> {
  if (size < 4) fail(`torch checkpoint: file is ${size} bytes, too small to be a checkpoint`);
  const magic = yield { offset: 0, length: 4, what: 'torch checkpoint: magic' };
  if (magic[0] === 0x50 && magic[1] === 0x4b) return yield* zipCheckpointReader(size, options);
  if (magic[0] === 0x80) return yield* legacyCheckpointReader(size, options);
  fail('torch checkpoint: not a PyTorch checkpoint (expected a zip archive "PK..." or a legacy pickle "\\x80...")');
}

/** Parses an in-memory PyTorch checkpoint into `{key: RawTensor}` (see module docs for nesting options). */
export function parseTorchCheckpoint(bytes: Uint8Array, options: TorchLoadOptions = {}): Record<string, RawTensor> {
  return parseTorchCheckpointFull(bytes, options).tensors;
}

/** Like parseTorchCheckpoint, also returning non-tensor values and the unpickled structure. */
export function parseTorchCheckpointFull(bytes: Uint8Array, options: TorchLoadOptions = {}): TorchCheckpoint {
  return runSync(checkpointReader(bytes.length, options), bytes);
}

/** Reads a checkpoint from a RangeSource (e.g. `blobSource(file)` in a browser), one storage at a time. */
export async function readTorchCheckpointFromSource(source: RangeSource, options: TorchLoadOptions = {}): Promise<TorchCheckpoint> {
  return runAsync(checkpointReader(source.size, options), source);
}

/**
 * Reads a checkpoint file (Node only) by ranges: the zip directory, data.pkl, then each storage entry, so files
 * larger than 2 GiB work and only one storage's raw bytes are held at a time.
 */
export async function readTorchCheckpointFile(path: string, options: TorchLoadOptions = {}): Promise<Record<string, RawTensor>> {
  return (await readTorchCheckpointFileFull(path, options)).tensors;
}

export async function readTorchCheckpointFileFull(path: string, options: TorchLoadOptions = {}): Promise<TorchCheckpoint> {
  return withFileSource(path, (src) => readTorchCheckpointFromSource(src, options));
}
