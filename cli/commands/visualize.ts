// finercam visualize: the seed's visualize.py (which crashes at HEAD on the key it reads): for each image,
// a PNG strip original | an example image of the closest reference class | Baseline | Finer-Default |
// Finer-Compare, each labelled, with the colour scale below. Class names come from --classes, else from
// the sidecars (generate stores them); the example image of a class is found through the class index
// generate matched each folder to (the sidecars' targetIdx), so seed-style names such as "Blue Grosbeak"
// find the folder "001.Blue_Grosbeak" as generate did.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { num, parseArgs, required, str, UsageError, type OptionSpec } from '../args';
import { assignNames, listDataset, loadClassNames, matchClass, normalizeLabel, type DatasetImage } from '../dataset';
import { readSidecar, recordedNames, type Sidecar } from '../sidecar';
import { MODES } from '../modes';
import { readImage, writePng } from '../image-io';
import { composeStrip } from '../util/strip';
import { checkOutputDir } from '../util/output-path';
import { createImage, type RgbImage } from '../../image/canvas';
import { decodeNpy } from '../util/npy';
import { Progress } from '../progress';
import * as F from '../../index';

export const VISUALIZE_OPTIONS: Record<string, OptionSpec> = {
  dataset: { kind: 'string', help: 'the dataset folder given to generate' },
  cams: { kind: 'string', help: 'the --save folder of generate' },
  classes: { kind: 'string', help: 'class names (JSON array or one per line), to label tiles and find example images' },
  save: { kind: 'string', help: 'output folder for the PNG strips' },
  'tile-height': { kind: 'number', help: 'height of each tile in pixels (1..4096)', default: 224 },
};

const MAX_TILE_HEIGHT = 4096;

/**
 * An example image per class index: first the folders generate matched to a class (a sidecar's
 * targetIdx), then folders whose name matches a class name — the seed's normalize_label, else
 * generate's difflib rule. The first image in sorted order represents its folder.
 */
function exampleImages(images: readonly DatasetImage[], sidecars: ReadonlyMap<string, Sidecar>, names: readonly (string | null)[]): Map<number, DatasetImage> {
  const out = new Map<number, DatasetImage>();
  for (const img of images) {
    const t = sidecars.get(img.key)?.targetIdx;
    if (t !== null && t !== undefined && !out.has(t)) out.set(t, img);
  }
  const byLabel = new Map<string, number>();
  names.forEach((n, k) => {
    if (n !== null && !byLabel.has(normalizeLabel(n))) byLabel.set(normalizeLabel(n), k);
  });
  const known = names.map((n) => n ?? '');
  for (const img of images) {
    const k = byLabel.get(normalizeLabel(img.className)) ?? (known.length ? matchClass(img.className, known) : null);
    if (k !== null && k !== undefined && !out.has(k)) out.set(k, img);
  }
  return out;
}

/** Class names stored in the sidecars (generate writes mainName/referenceNames), by class index. */
function sidecarNames(sidecars: Iterable<Sidecar>): (string | null)[] {
  const names: (string | null)[] = [];
  const put = (k: number, n: string | null | undefined) => {
    if (typeof n === 'string' && names[k] == null) names[k] = n;
  };
  for (const s of sidecars) {
    for (const m of Object.values(s.modes)) {
      put(m.mainCategory, m.mainName);
      m.referenceCategories.forEach((k, i) => put(k, m.referenceNames?.[i]));
    }
  }
  return Array.from(names, (n) => n ?? null);
}

export async function visualize(argv: string[]): Promise<number> {
  const p = parseArgs(argv, VISUALIZE_OPTIONS, 'visualize');
  if (p.positionals.length) throw new UsageError(`visualize: unexpected argument '${p.positionals[0]}'`);
  const dataset = required(p, 'dataset', 'visualize');
  const camsDir = required(p, 'cams', 'visualize');
  const save = required(p, 'save', 'visualize');
  const tileHeight = num(p, 'tile-height')!;
  if (!Number.isInteger(tileHeight) || tileHeight < 1 || tileHeight > MAX_TILE_HEIGHT) {
    throw new UsageError(`visualize: --tile-height must be an integer in 1..${MAX_TILE_HEIGHT} (pixels), got ${tileHeight}`);
  }
  let camsInfo;
  try {
    camsInfo = await stat(camsDir);
  } catch {
    throw new UsageError(`visualize: --cams '${camsDir}' does not exist (give the --save folder of generate)`);
  }
  if (!camsInfo.isDirectory()) throw new UsageError(`visualize: --cams '${camsDir}' is not a folder (give the --save folder of generate)`);
  await checkOutputDir(save, 'save', 'visualize');
  const classNames = str(p, 'classes') ? await loadClassNames(str(p, 'classes')!, 'visualize') : null;
  const ds = await listDataset(dataset, 'visualize', { exclude: [save, camsDir] });
  // Each image's CAMs are found by the source path its sidecar records, never by its name alone.
  const recorded = await recordedNames(camsDir, ds.root);
  const images = assignNames(ds.images, recorded.bySource, recorded.taken);
  if (images.length === 0) throw new UsageError(`visualize: no images found in '${dataset}'`);
  // The sidecars first: they say which class each folder is and carry the class names.
  const sidecars = new Map<string, Sidecar>();
  for (const img of images) {
    if (recorded.bySource.get(img.source) !== img.key) continue;
    try {
      sidecars.set(img.key, await readSidecar(join(camsDir, `${img.key}.json`)));
    } catch {
      // reported for this image in the loop below
    }
  }
  const stored = sidecarNames(sidecars.values());
  const nameOf = (k: number): string | undefined => classNames?.[k] ?? stored[k] ?? undefined;
  const examples = exampleImages(images, sidecars, classNames ?? stored);
  const progress = new Progress(images.length, 'visualize');
  const failures: string[] = [];
  for (const img of images) {
    try {
      if (recorded.bySource.get(img.source) !== img.key) throw new Error(`no CAMs for this image in '${camsDir}' (run generate first)`);
      const sidecar = sidecars.get(img.key) ?? (await readSidecar(join(camsDir, `${img.key}.json`)));
      const rgb = await readImage(img.path);
      const tiles: RgbImage[] = [rgb];
      const labels: string[] = [`Original: ${img.className}`];
      const cmp = sidecar.modes['finer-compare'] ?? sidecar.modes['finer-default'] ?? Object.values(sidecar.modes)[0];
      const refClass = cmp?.referenceCategories?.[0];
      const refName = refClass !== undefined ? nameOf(refClass) ?? `class ${refClass}` : undefined;
      const example = refClass !== undefined ? examples.get(refClass) : undefined;
      if (example) {
        const ex = await readImage(example.path);
        tiles.push(F.resizeBicubicPil(ex, rgb.width, rgb.height));
        labels.push(`Closest: ${refName}`);
      } else {
        tiles.push(createImage(rgb.width, rgb.height, [255, 255, 255]));
        labels.push(refClass !== undefined ? `Closest: ${refName} (no example)` : 'Closest: -');
        progress.note(
          refClass !== undefined
            ? `visualize: warning: ${img.key}: no image of the closest class ${refName} (${refClass}) in '${dataset}', its tile is blank`
            : `visualize: warning: ${img.key}: the sidecar names no reference class, the closest-class tile is blank`,
        );
      }
      for (const m of MODES) {
        const entry = sidecar.modes[m.name];
        if (!entry) continue;
        const arr = decodeNpy(new Uint8Array(await readFile(join(camsDir, entry.cam))));
        if (arr.shape[0] !== rgb.height || arr.shape[1] !== rgb.width) throw new Error(`${entry.cam} is ${arr.shape.join('×')}, the image is ${rgb.height}×${rgb.width}`);
        tiles.push(F.showCamOnImage(rgb, arr.data as Float32Array, { style: 'finer-cam' }));
        labels.push(m.label);
      }
      await mkdir(save, { recursive: true }); // only once there is something to write into it
      await writePng(join(save, `${img.key}.png`), composeStrip(tiles, labels, { tileHeight, legend: true }));
      progress.tick(true, img.key);
    } catch (e) {
      failures.push(`${img.path}: ${(e as Error).message}`);
      progress.note(`error: ${img.path}: ${(e as Error).message}`);
      progress.tick(false, img.key);
    }
  }
  console.error(`visualize: ${images.length - failures.length} strips written to ${save}, ${failures.length} failed`);
  return failures.length ? 1 : 0;
}
