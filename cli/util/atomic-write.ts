// Output files are written to a temporary name in their own folder and renamed into place, so a run
// that is killed (Ctrl-C, out of memory, power) leaves either the old file or the new one, never a
// truncated one that a later `--resume` would trust. The temporary names start with '.' and end in
// '.tmp', so neither dataset scans nor sidecar scans take them for outputs.
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A temporary name in the same folder as `path` (rename is only atomic within one file system). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${++counter}.tmp`);
}

async function writeTemp(path: string, data: Uint8Array | string): Promise<string> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    // Flushed before the rename: otherwise a crash of the machine could leave the new name pointing
    // at a file whose blocks were never written.
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Writes `data` to `path` atomically (temporary file in the same folder + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Writes several files that belong together: every one is first written in full under a temporary
 * name, and only then are they renamed, in the order given. A failure or kill while writing leaves
 * all the old files; the window in which some are renamed and others not is a few rename calls.
 */
export async function writeFilesAtomic(files: readonly { path: string; data: Uint8Array | string }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) temps.push(await writeTemp(f.path, f.data));
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw e;
  }
  for (let i = 0; i < files.length; i++) {
    try {
      await rename(temps[i], files[i].path);
    } catch (e) {
      await Promise.all(temps.slice(i).map((t) => unlink(t).catch(() => undefined)));
      throw e;
    }
  }
}
