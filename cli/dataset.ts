// Datasets in the seed's layout: <root>/<class name>/<image>, optionally under train/, val/, valid/ or
// test/ split folders, or a text file listing image paths (relative to the list's folder). Each image is
// identified by its source path relative to the root; output names are <class>_<stem>, and when two
// images would get the same name the first in sorted path order keeps it and the others get __2, __3, ...
// appended. A rerun keeps the names its sidecars recorded (assignNames), so adding images never renames
// the outputs of earlier ones.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { getCloseMatches } from './util/difflib';
import { UsageError } from './args';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp'];

/** finercam's own image outputs (explain's strips), which a scan must not take for dataset images. */
export function isFinercamOutput(fileName: string): boolean {
  return fileName.toLowerCase().endsWith('.finercam.png');
}

export interface DatasetImage {
  path: string;
  /** The path relative to the dataset root with '/' separators: the image's identity in sidecars. */
  source: string;
  /** Parent folder name (the class name as written on disk). */
  className: string;
  stem: string;
  /** Unique output name: <class>_<stem>[__n]. */
  key: string;
}

export interface Dataset {
  /** The folder given, or the folder of the list file (its paths are relative to it). */
  root: string;
  images: DatasetImage[];
}

export interface ListOptions {
  /** Folders that are never scanned (the command's own output folders when they lie in the dataset). */
  exclude?: readonly string[];
}

async function walk(dir: string, out: string[], exclude: ReadonlySet<string>): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!exclude.has(resolve(p))) await walk(p, out, exclude);
    } else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()) && !isFinercamOutput(e.name)) out.push(p);
  }
}

/** Source path of `path` relative to `root`, '/'-separated on every platform. */
export function sourceOf(root: string, path: string): string {
  return relative(resolve(root), resolve(path)).split(sep).join('/');
}

export async function listImages(source: string, command: string, opts: ListOptions = {}): Promise<DatasetImage[]> {
  return (await listDataset(source, command, opts)).images;
}

export async function listDataset(source: string, command: string, opts: ListOptions = {}): Promise<Dataset> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new UsageError(`${command}: --dataset '${source}' does not exist`);
  }
  let paths: string[] = [];
  let root: string;
  if (info.isDirectory()) {
    root = source;
    await walk(source, paths, new Set((opts.exclude ?? []).map((d) => resolve(d))));
    paths.sort((a, b) => relative(source, a).localeCompare(relative(source, b), 'en'));
  } else {
    root = dirname(resolve(source));
    paths = await readPathList(source, command);
  }
  const images = paths.map((p) => {
    const className = basename(dirname(p));
    const stem = basename(p, extname(p));
    return { path: p, source: sourceOf(root, p), className, stem, key: '' };
  });
  return { root, images: assignNames(images, new Map()) };
}

/**
 * Output names: an image whose source is in `recorded` (source → name, read from earlier sidecars)
 * keeps that name; the others, in order, take <class>_<stem> or the next free __n suffix, never a
 * recorded or `taken` name. With nothing recorded this is the sorted-path-order rule.
 */
export function assignNames(images: readonly DatasetImage[], recorded: ReadonlyMap<string, string>, taken: ReadonlySet<string> = new Set()): DatasetImage[] {
  const used = new Set([...taken, ...recorded.values()]);
  const out = images.map((img) => ({ ...img, key: recorded.get(img.source) ?? '' }));
  for (const img of out) {
    if (img.key) continue;
    const base = `${sanitize(img.className)}_${sanitize(img.stem)}`;
    let key = base;
    for (let n = 2; used.has(key); n++) key = `${base}__${n}`;
    used.add(key);
    img.key = key;
  }
  return out;
}

const shortLine = (l: string) => JSON.stringify(l.length > 80 ? `${l.slice(0, 77)}...` : l);

/**
 * A list file: UTF-8 text, one image path per line (blank lines and '#' comments ignored), each naming
 * an existing file. Anything else — an image given by mistake, a missing path — is a usage error that
 * names the first bad line.
 */
async function readPathList(file: string, command: string): Promise<string[]> {
  const bytes = new Uint8Array(await readFile(file));
  const base = dirname(resolve(file));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const what = `${command}: --dataset '${file}' must be a folder (<class>/<image>) or a text file with one image path per line`;
  const paths: string[] = [];
  let start = 0;
  for (let n = 1; start <= bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const raw = bytes.subarray(start, end);
    start = end + 1;
    if (raw.includes(0)) throw new UsageError(`${what}; line ${n} holds a NUL byte (is it an image or other binary file?)`);
    let line: string;
    try {
      line = decoder.decode(raw).trim(); // the decoder drops a byte-order mark
    } catch {
      throw new UsageError(`${what}; line ${n} is not valid UTF-8 text (is it an image or other binary file?)`);
    }
    if (line === '' || line.startsWith('#')) continue;
    const p = resolve(base, line);
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new UsageError(`${what}; line ${n}: ${shortLine(line)} does not exist (paths are relative to the list's folder)`);
    }
    if (!st.isFile()) throw new UsageError(`${what}; line ${n}: ${shortLine(line)} is not a file`);
    paths.push(p);
  }
  return paths;
}

/** File-name-safe version of a name (path separators and control characters replaced). */
export function sanitize(s: string): string {
  return s.replace(/[\/\\\0-\x1f:*?"<>|]/g, '_');
}

/** Class names from a JSON array or a text file with one name per line. */
export async function loadClassNames(path: string, command: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`${command}: --classes file '${path}' cannot be read`);
  }
  const t = text.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new UsageError(`${command}: --classes '${path}' is not valid JSON: ${(e as Error).message}`);
    }
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      // {"0": "name", "1": ...} as some checkpoints ship them
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.every(([k, x]) => /^\d+$/.test(k) && typeof x === 'string')) {
        const out: string[] = [];
        for (const [k, x] of entries) out[Number(k)] = x as string;
        return out;
      }
    }
    throw new UsageError(`${command}: --classes '${path}' must be a JSON array of names or one name per line`);
  }
  return t.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

/** The seed's rule: difflib.get_close_matches(folder name, class names, n=1, cutoff=0.8) → index or null. */
export function matchClass(folderName: string, classNames: readonly string[]): number | null {
  const m = getCloseMatches(folderName, classNames as string[], 1, 0.8);
  return m.length ? classNames.indexOf(m[0]) : null;
}

/** Lowercase alphanumerics only (the seed's normalize_label), for finding example images of a class. */
export function normalizeLabel(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}
