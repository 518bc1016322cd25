// Checks of output locations, run before any work so that a wrong --save/--out is a usage error up
// front instead of a failure per image (or a stack trace) after the weights are loaded.
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../args';

async function kind(p: string): Promise<'dir' | 'file' | 'none'> {
  try {
    return (await stat(p)).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}

/** The nearest existing folder at or above `p` must be a writable folder (mkdir -p can then create the rest). */
async function checkAncestors(p: string, option: string, given: string, command: string): Promise<void> {
  let d = resolve(p);
  for (;;) {
    const k = await kind(d);
    if (k === 'file') throw new UsageError(`${command}: --${option} '${given}' cannot be created: '${d}' is a file, not a folder`);
    if (k === 'dir') break;
    const up = dirname(d);
    if (up === d) return;
    d = up;
  }
  try {
    await access(d, constants.W_OK);
  } catch {
    throw new UsageError(`${command}: --${option} '${given}': the folder '${d}' is not writable`);
  }
}

/** An output folder: an existing folder, or a path that can be created. */
export async function checkOutputDir(path: string, option: string, command: string): Promise<void> {
  if ((await kind(path)) === 'file') throw new UsageError(`${command}: --${option} '${path}' is a file; expected a folder (existing or to be created)`);
  await checkAncestors(path, option, path, command);
}

/** An output file: not a folder, in a folder that exists or can be created. */
export async function checkOutputFile(path: string, option: string, command: string): Promise<void> {
  if ((await kind(path)) === 'dir') throw new UsageError(`${command}: --${option} '${path}' is a folder; expected a file name`);
  await checkAncestors(dirname(resolve(path)), option, path, command);
}
