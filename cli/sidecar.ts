// generate's JSON sidecars (<save>/<name>.json) read back by generate (names, --resume) and visualize.
// They come from disk, so they are parsed into null-prototype objects and checked field by field: a key
// such as "__proto__" or "constructor" stays data and never changes a lookup, and a sidecar that does
// not hold what generate writes is not trusted. The sidecar is written after its .npy files, so a
// valid sidecar whose .npy headers and lengths check out describes complete outputs.
import { open, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sourceOf } from './dataset';
import { readNpyHeader } from './util/npy';

export interface SidecarMode {
  alpha: number | null;
  mainCategory: number;
  referenceCategories: number[];
  /** The .npy file name, in the sidecar's folder. */
  cam: string;
  mainName?: string | null;
  referenceNames?: (string | null)[];
}

export interface Sidecar {
  /** The image's path relative to the dataset root ('/'-separated); null in sidecars of older versions. */
  source: string | null;
  /** The image path as generate saw it. */
  image: string | null;
  /** Byte size and modification time of the image when its CAMs were computed (null in older sidecars). */
  size: number | null;
  mtimeMs: number | null;
  width: number;
  height: number;
  targetIdx: number | null;
  /** Null-prototype: only the modes the file holds. */
  modes: Record<string, SidecarMode>;
  /** Segmentation models: the mask the region came from (--mask or --mask-dir); null otherwise and in older sidecars. */
  mask?: SidecarMask | null;
  /** Segmentation models: --target-class as given (null: none given, and in older sidecars). */
  targetClass?: number | null;
}

/** The mask file of a segmentation run, identified as sources are: path under the dataset root, size, mtime. */
export interface SidecarMask {
  /** Relative to the dataset root, '/'-separated (it may start with '../'). */
  path: string;
  size: number;
  mtimeMs: number;
}

/** JSON.parse with every object built without a prototype, so no key can reach Object.prototype. */
export function parseJsonNullProto(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v)) {
      Object.defineProperty(o, k, { value: (v as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
    }
    return o;
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

/** A file name in the sidecar's own folder: no separators, no '..'. */
function isPlainNpyName(v: unknown): v is string {
  return typeof v === 'string' && v.endsWith('.npy') && basename(v) === v && !v.includes('\\') && !v.includes('\0') && v !== '..';
}

function bad(what: string): never {
  throw new Error(`not a generate sidecar: ${what}`);
}

/** Validates parsed JSON as a sidecar; throws an Error saying what is wrong. */
export function validateSidecar(v: unknown): Sidecar {
  if (!isObject(v)) bad('not a JSON object');
  const width = own(v, 'width');
  const height = own(v, 'height');
  if (!isIndex(width) || width < 1 || !isIndex(height) || height < 1) bad('width/height are not positive integers');
  const optStr = (k: string): string | null => {
    const x = own(v, k);
    if (x === undefined) return null;
    if (typeof x !== 'string') bad(`'${k}' is not a string`);
    return x;
  };
  const optNum = (k: string, ok: (x: number) => boolean): number | null => {
    const x = own(v, k);
    if (x === undefined) return null;
    if (typeof x !== 'number' || !ok(x)) bad(`'${k}' is not a valid number`);
    return x;
  };
  const target = own(v, 'targetIdx');
  if (target !== null && target !== undefined && !isIndex(target)) bad("'targetIdx' is not a class index");
  const rawModes = own(v, 'modes');
  if (!isObject(rawModes)) bad("'modes' is not an object");
  const modes = Object.create(null) as Record<string, SidecarMode>;
  for (const name of Object.keys(rawModes)) {
    const m = rawModes[name];
    if (!isObject(m)) bad(`mode '${name}' is not an object`);
    const cam = own(m, 'cam');
    const main = own(m, 'mainCategory');
    const refs = own(m, 'referenceCategories');
    const alpha = own(m, 'alpha');
    if (!isPlainNpyName(cam)) bad(`mode '${name}': 'cam' is not a .npy file name in the same folder`);
    if (!isIndex(main)) bad(`mode '${name}': 'mainCategory' is not a class index`);
    if (!Array.isArray(refs) || !refs.every(isIndex)) bad(`mode '${name}': 'referenceCategories' is not a list of class indices`);
    const entry: SidecarMode = { alpha: typeof alpha === 'number' ? alpha : null, mainCategory: main, referenceCategories: refs as number[], cam };
    const mainName = own(m, 'mainName');
    if (mainName === null || typeof mainName === 'string') entry.mainName = mainName;
    const refNames = own(m, 'referenceNames');
    if (Array.isArray(refNames) && refNames.every((x) => x === null || typeof x === 'string')) entry.referenceNames = refNames as (string | null)[];
    modes[name] = entry;
  }
  const rawMask = own(v, 'mask');
  let mask: SidecarMask | null = null;
  if (rawMask !== undefined && rawMask !== null) {
    if (!isObject(rawMask)) bad("'mask' is not an object");
    const path = own(rawMask, 'path');
    const size = own(rawMask, 'size');
    const mtimeMs = own(rawMask, 'mtimeMs');
    if (typeof path !== 'string' || path === '' || path.includes('\0')) bad("'mask.path' is not a path");
    if (!isIndex(size) || typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) bad("'mask' has no valid size and mtimeMs");
    mask = { path, size, mtimeMs };
  }
  const targetClass = own(v, 'targetClass');
  if (targetClass !== null && targetClass !== undefined && !isIndex(targetClass)) bad("'targetClass' is not a class index");
  return {
    source: optStr('source'), image: optStr('image'),
    size: optNum('size', (x) => isIndex(x)), mtimeMs: optNum('mtimeMs', Number.isFinite),
    width, height, targetIdx: (target ?? null) as number | null, modes,
    mask, targetClass: (targetClass ?? null) as number | null,
  };
}

/** Reads and validates one sidecar; throws an Error (missing, not JSON, not a sidecar). */
export async function readSidecar(path: string): Promise<Sidecar> {
  return validateSidecar(parseJsonNullProto(await readFile(path, 'utf8')));
}

/** The image a sidecar was written for, as a source path under `root` (older sidecars: from 'image'). */
function recordedSource(s: Sidecar, root: string): string | null {
  if (s.source !== null) return s.source;
  return s.image !== null ? sourceOf(root, s.image) : null;
}

export interface RecordedNames {
  /** source → output name. */
  bySource: Map<string, string>;
  /** Every name a valid sidecar holds, including sidecars whose image is gone: never given to another image. */
  taken: Set<string>;
}

/**
 * The names earlier runs gave, from the valid sidecars in `dir` (none when it does not exist). Read in
 * sorted order: should two sidecars claim one source, the first keeps it.
 */
export async function recordedNames(dir: string, root: string): Promise<RecordedNames> {
  const out: RecordedNames = { bySource: new Map(), taken: new Set() };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const f of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
    let s: Sidecar;
    try {
      s = await readSidecar(join(dir, f));
    } catch {
      continue;
    }
    const key = f.slice(0, -'.json'.length);
    out.taken.add(key);
    const src = recordedSource(s, root);
    if (src !== null && !out.bySource.has(src)) out.bySource.set(src, key);
  }
  return out;
}

/** What else a run's outputs depend on (segmentation: the mask file and --target-class); null = none. */
export interface ResumeExpectations {
  mask: SidecarMask | null;
  targetClass: number | null;
}

/**
 * Whether `--resume` may keep the outputs `<dir>/<key>.*`: the sidecar is valid, names this source with
 * the image's current size and mtime, and lists every wanted mode with a float16 .npy of the image's size
 * that is complete (header parses, length = header + 2·height·width). With `expect`, the sidecar must
 * also record that mask (same path, size and mtime) and that --target-class. Returns null when they can
 * be kept, else why not.
 */
export async function untrustedReason(dir: string, key: string, img: { source: string; size: number; mtimeMs: number }, modes: readonly string[], expect?: ResumeExpectations): Promise<string | null> {
  let s: Sidecar;
  try {
    s = await readSidecar(join(dir, `${key}.json`));
  } catch (e) {
    return (e as Error).message;
  }
  if (s.source !== img.source) return `the sidecar is for '${s.source ?? s.image}'`;
  if (s.size !== img.size || s.mtimeMs !== img.mtimeMs) return 'the image changed since';
  if (expect) {
    const had = s.mask ?? null;
    const want = expect.mask;
    if (had === null && want !== null) return 'the outputs were made without a mask';
    if (had !== null && want === null) return `the outputs were made with the mask '${had.path}'`;
    if (had !== null && want !== null) {
      if (had.path !== want.path) return `the outputs were made with the mask '${had.path}'`;
      if (had.size !== want.size || had.mtimeMs !== want.mtimeMs) return `the mask '${want.path}' changed since`;
    }
    if ((s.targetClass ?? null) !== expect.targetClass) return `the outputs were made with --target-class ${s.targetClass ?? '(none)'}`;
  }
  for (const m of modes) {
    const entry = s.modes[m];
    if (!entry) return `no ${m} CAM`;
    if (entry.cam !== `${key}.${m}.npy`) return `the ${m} CAM is '${entry.cam}'`;
    const why = await npyProblem(join(dir, entry.cam), s.height, s.width);
    if (why) return `${entry.cam}: ${why}`;
  }
  return null;
}

/** Checks a float16 (height, width) .npy by its header and length without reading the data. */
async function npyProblem(path: string, height: number, width: number): Promise<string | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return 'missing';
  }
  try {
    const { size } = await fh.stat();
    const head = new Uint8Array(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    let h;
    try {
      h = readNpyHeader(head);
    } catch (e) {
      return (e as Error).message;
    }
    if (h.descr !== '<f2' || h.fortranOrder || h.shape.length !== 2 || h.shape[0] !== height || h.shape[1] !== width) {
      return `holds ${h.descr} (${h.shape.join(', ')}), expected <f2 (${height}, ${width})`;
    }
    const expected = h.dataOffset + 2 * height * width;
    return size === expected ? null : `is ${size} bytes, expected ${expected}`;
  } finally {
    await fh.close();
  }
}
