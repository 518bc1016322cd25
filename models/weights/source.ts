/**
 * Random-access byte sources and the small "read request" protocol the format readers are written in.
 *
 * Each reader (safetensors, zip, PyTorch checkpoint) is written once as a generator that yields
 * `{ offset, length }` read requests and receives the bytes back. `runSync` serves the requests from an in-memory
 * Uint8Array (zero-copy subarrays); `runAsync` serves them from a `RangeSource` (a Node file handle, a browser
 * Blob/File, or anything with ranged reads), so big files are never read whole.
 */
import { WeightsFormatError, fail } from './errors';
import { isNode, nodeBuiltin } from '../../core/node-builtins';

export interface ReadRequest {
  offset: number;
  length: number;
  /** What is being read, for error messages. */
  what: string;
}

export type Reader<T> = Generator<ReadRequest, T, Uint8Array>;

/** A random-access byte source of known size. */
export interface RangeSource {
  readonly size: number;
  /** Resolves to exactly `length` bytes starting at `offset`. The caller may keep the returned array. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

function checkRequest(req: ReadRequest, size: number): void {
  const { offset, length } = req;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    fail(`${req.what}: expected bytes [${offset}, ${offset + length}) to lie within the ${size}-byte file (truncated file?)`);
  }
}

/** Runs a reader over in-memory bytes. The arrays handed to the reader are views into `bytes`. */
export function runSync<T>(reader: Reader<T>, bytes: Uint8Array): T {
  let step = reader.next();
  while (!step.done) {
    checkRequest(step.value, bytes.length);
    step = reader.next(bytes.subarray(step.value.offset, step.value.offset + step.value.length));
  }
  return step.value;
}

/** Runs a reader over a RangeSource, awaiting each read. */
export async function runAsync<T>(reader: Reader<T>, source: RangeSource): Promise<T> {
  let step = reader.next();
  while (!step.done) {
    checkRequest(step.value, source.size);
    const got = await source.read(step.value.offset, step.value.length);
    if (got.length !== step.value.length) {
      fail(`${step.value.what}: expected ${step.value.length} bytes at offset ${step.value.offset}, read ${got.length}`);
    }
    step = reader.next(got);
  }
  return step.value;
}

/** A RangeSource over in-memory bytes. */
export function bytesSource(bytes: Uint8Array): RangeSource {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A RangeSource over a Blob or File (browsers, Node ≥ 18): only the requested slices are read. */
export function blobSource(blob: Blob): RangeSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

export { isNode };

/** Largest single fs read (Node limits one read to 2 GiB - 1). */
const MAX_CHUNK = 1 << 30;

/**
 * Opens a file for ranged reads (Node only; `node:fs` is imported lazily so bundles stay browser-safe).
 * Works for files larger than 2 GiB: positions are plain numbers and long reads are split into 1 GiB chunks.
 * Call `close()` when done (the `read*File` helpers do).
 */
export async function openFileSource(path: string): Promise<RangeSource & { close(): Promise<void> }> {
  if (!isNode()) {
    throw new WeightsFormatError(
      `cannot open '${path}': file paths need Node.js; in a browser pass the bytes or the File/Blob itself`,
    );
  }
  const fs = (await nodeBuiltin<typeof import('node:fs')>('node:fs'))!;
  const handle = await fs.promises.open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = Math.min(MAX_CHUNK, length - done);
        const { bytesRead } = await handle.read(out, done, n, offset + done);
        if (bytesRead === 0) fail(`${path}: unexpected end of file at byte ${offset + done} (file changed while reading?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}

/** Opens `path`, runs `fn` on it, and always closes the file. */
export async function withFileSource<T>(path: string, fn: (src: RangeSource) => Promise<T>): Promise<T> {
  const src = await openFileSource(path);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}
