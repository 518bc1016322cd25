// torchvision ImageFolder for train-probe: <split>/<class>/**/<image>, classes = the sorted names of the
// train split's folders (Python's sorted(): code-point order), samples in sorted path order. The seed's
// splits: train/ with val/ or valid/ (test/ accepted too); a root without them is split 80/20 at random
// (seeded), as the seed does when it finds no split folders.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../args';
import { IMAGE_EXTENSIONS, isFinercamOutput } from '../dataset';

export interface Sample {
  path: string;
  label: number;
}

export interface Splits {
  classes: string[];
  train: Sample[];
  val: Sample[];
  /** How the splits were found, for the log: 'train/ + val/', or '80/20 split of <root>'. */
  describe: string;
  /** Validation images in class folders the train split lacks (skipped). */
  unknownClassImages: string[];
}

export const VAL_SPLIT_NAMES = ['val', 'valid', 'test'];

const codePointCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function walkImages(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => codePointCompare(a.name, b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walkImages(p, out);
    else if (IMAGE_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x)) && !isFinercamOutput(e.name)) out.push(p);
  }
}

/** Class folder names of one split, sorted. */
export async function classFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(codePointCompare);
}

async function samplesOf(dir: string, classes: readonly string[], unknown: string[]): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const name of await classFolders(dir)) {
    const paths: string[] = [];
    await walkImages(join(dir, name), paths);
    const label = classes.indexOf(name);
    if (label < 0) unknown.push(...paths);
    else for (const path of paths) out.push({ path, label });
  }
  return out;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: { uniform: () => number }): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export async function findSplits(root: string, rng: { uniform: () => number }, command: string): Promise<Splits> {
  if (!(await isDir(root))) throw new UsageError(`${command}: --dataset '${root}' is not a folder`);
  const trainDir = join(root, 'train');
  let valName: string | undefined;
  for (const n of VAL_SPLIT_NAMES) {
    if (await isDir(join(root, n))) {
      valName = n;
      break;
    }
  }
  const hasTrain = await isDir(trainDir);
  const base = hasTrain ? trainDir : root;
  const classes = (await classFolders(base)).filter((c) => !(!hasTrain && VAL_SPLIT_NAMES.includes(c)));
  if (classes.length < 2) {
    throw new UsageError(`${command}: --dataset '${root}' needs train/<class>/<image> folders for at least two classes (found ${classes.length} in '${base}')`);
  }
  const unknown: string[] = [];
  const train = await samplesOf(base, classes, unknown);
  if (train.length === 0) throw new UsageError(`${command}: no images (${IMAGE_EXTENSIONS.join(' ')}) under '${base}'`);
  if (hasTrain && valName) {
    const val = await samplesOf(join(root, valName), classes, unknown);
    if (val.length === 0) throw new UsageError(`${command}: no images of the train classes under '${join(root, valName)}'`);
    return { classes, train, val, describe: `train/ + ${valName}/`, unknownClassImages: unknown };
  }
  // No validation split: a seeded 80/20 split of the images (at least one on each side).
  if (train.length < 2) throw new UsageError(`${command}: '${base}' has one image; a validation split needs at least two`);
  const perm = permutation(train.length, rng);
  const nTrain = Math.min(train.length - 1, Math.max(1, Math.floor(0.8 * train.length)));
  return {
    classes,
    train: perm.slice(0, nTrain).map((i) => train[i]),
    val: perm.slice(nTrain).map((i) => train[i]),
    describe: `80/20 random split of '${base}' (no val/, valid/ or test/ folder)`,
    unknownClassImages: unknown,
  };
}
