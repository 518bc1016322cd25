// Datasets in the seed's layout: <root>/<class name>/<image>, optionally under train/, val/, valid/ or
// test/ split folders, or a text file listing image paths. Output names are <class>_<stem>; when two
// images would get the same name (the same stem in two splits, or two extensions), the first in sorted
// path order keeps it and the others get __2, __3, ... appended.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { getCloseMatches } from './util/difflib';
import { UsageError } from './args';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp'];

export interface DatasetImage {
  path: string;
  /** Parent folder name (the class name as written on disk). */
  className: string;
  stem: string;
  /** Unique output name: <class>_<stem>[__n]. */
  key: string;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
  }
}

export async function listImages(source: string, command: string): Promise<DatasetImage[]> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new UsageError(`${command}: --dataset '${source}' does not exist`);
  }
  let paths: string[] = [];
  if (info.isDirectory()) {
    await walk(source, paths);
    paths.sort((a, b) => relative(source, a).localeCompare(relative(source, b), 'en'));
  } else {
    const base = dirname(resolve(source));
    paths = (await readFile(source, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => resolve(base, l));
  }
  const used = new Map<string, number>();
  return paths.map((p) => {
    const className = basename(dirname(p));
    const stem = basename(p, extname(p));
    const base = `${sanitize(className)}_${sanitize(stem)}`;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return { path: p, className, stem, key: n === 1 ? base : `${base}__${n}` };
  });
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
