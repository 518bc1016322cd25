// train-probe --cache-features keeps each image's backbone features on disk, one small file per image,
// so a run that is interrupted (Ctrl-C) or repeated with other head settings (epochs, lr, seed) does
// not pass any image through the backbone again. A file's name is a hash of everything the features
// depend on: the backbone (preset name or options file contents), the weights file (path, size,
// mtime), the normalisation and crop settings, and the image (path, size, mtime). Changing any of
// them gives new names; stale files are never read. Files are written atomically and checked by length.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';

const FORMAT = 'finercam feature cache v1: float32 little-endian mean patch token';

/** What identifies the backbone and its input pipeline (everything but the image). */
export interface FeatureSettings {
  model: string;
  weights: string | undefined;
  mean: readonly number[];
  std: readonly number[];
  cropSize: number;
  resizeSize: number;
  dim: number;
}

async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path);
  return `${resolve(path)}|${s.size}|${s.mtimeMs}`;
}

export class FeatureCache {
  hits = 0;
  misses = 0;

  private constructor(readonly dir: string, private readonly identity: string, private readonly dim: number) {}

  static async open(dir: string, s: FeatureSettings): Promise<FeatureCache> {
    // An options file is identified by its contents (editing it in place changes the backbone).
    const model = s.model.endsWith('.json') ? `options:${createHash('sha256').update(await readFile(s.model)).digest('hex')}` : `preset:${s.model}`;
    const weights = s.weights ? `weights:${await fileIdentity(s.weights)}` : 'weights:none';
    const identity = JSON.stringify([FORMAT, model, weights, s.mean, s.std, s.cropSize, s.resizeSize, s.dim]);
    return new FeatureCache(dir, identity, s.dim);
  }

  /** The cache file of an image in its current state. */
  async fileFor(imagePath: string): Promise<string> {
    const h = createHash('sha256').update(this.identity).update('\0').update(await fileIdentity(imagePath)).digest('hex');
    return join(this.dir, h.slice(0, 2), `${h}.f32`);
  }

  /** The stored features, or null when absent or not exactly `dim` floats. */
  async get(file: string): Promise<Float32Array | null> {
    let b: Buffer;
    try {
      b = await readFile(file);
    } catch {
      return null;
    }
    if (b.length !== this.dim * 4) return null;
    const f = new Float32Array(this.dim);
    new Uint8Array(f.buffer).set(b);
    this.hits++;
    return f;
  }

  async put(file: string, features: Float32Array): Promise<void> {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFileAtomic(file, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    this.misses++;
  }
}
