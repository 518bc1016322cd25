// finercam visualize: the seed's visualize.py (which crashes at HEAD on the key it reads): for each image,
// a PNG strip original | an example image of the closest reference class | Baseline | Finer-Default |
// Finer-Compare, each labelled.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, required, str, UsageError, type OptionSpec } from '../args';
import { listImages, loadClassNames, normalizeLabel, type DatasetImage } from '../dataset';
import { MODES } from '../modes';
import { readImage, writePng } from '../image-io';
import { overlayCam } from '../overlay';
import { composeStrip } from '../util/strip';
import { createImage, type RgbImage } from '../util/canvas';
import { decodeNpy } from '../util/npy';
import { Progress } from '../progress';
import * as F from '../../index';

export const VISUALIZE_OPTIONS: Record<string, OptionSpec> = {
  dataset: { kind: 'string', help: 'the dataset folder given to generate' },
  cams: { kind: 'string', help: 'the --save folder of generate' },
  classes: { kind: 'string', help: 'class names (JSON array or one per line), to label tiles and find example images' },
  save: { kind: 'string', help: 'output folder for the PNG strips' },
  'tile-height': { kind: 'number', help: 'height of each tile in pixels', default: 224 },
};

export async function visualize(argv: string[]): Promise<number> {
  const p = parseArgs(argv, VISUALIZE_OPTIONS, 'visualize');
  const dataset = required(p, 'dataset', 'visualize');
  const camsDir = required(p, 'cams', 'visualize');
  const save = required(p, 'save', 'visualize');
  const classNames = str(p, 'classes') ? await loadClassNames(str(p, 'classes')!, 'visualize') : null;
  const images = await listImages(dataset, 'visualize');
  if (images.length === 0) throw new UsageError(`visualize: no images found in '${dataset}'`);
  await mkdir(save, { recursive: true });
  // An example image per class folder (first in sorted order), found by the normalised folder name.
  const examples = new Map<string, DatasetImage>();
  for (const img of images) if (!examples.has(normalizeLabel(img.className))) examples.set(normalizeLabel(img.className), img);
  const tileHeight = Number(p.options['tile-height']);
  const progress = new Progress(images.length, 'visualize');
  const failures: string[] = [];
  for (const img of images) {
    try {
      let sidecar: { modes: Record<string, { mainCategory: number; referenceCategories: number[]; cam: string }> };
      try {
        sidecar = JSON.parse(await readFile(join(camsDir, `${img.key}.json`), 'utf8'));
      } catch {
        throw new Error(`no CAMs for this image in '${camsDir}' (run generate first)`);
      }
      const rgb = await readImage(img.path);
      const tiles: RgbImage[] = [rgb];
      const labels: string[] = [`Original${classNames ? `: ${img.className}` : ''}`];
      const cmp = sidecar.modes['finer-compare'] ?? sidecar.modes['finer-default'] ?? Object.values(sidecar.modes)[0];
      const refClass = cmp?.referenceCategories?.[0];
      const refName = refClass !== undefined && classNames ? classNames[refClass] : undefined;
      const example = refName !== undefined ? examples.get(normalizeLabel(refName)) : undefined;
      if (example) {
        const ex = await readImage(example.path);
        tiles.push(F.resizeBicubicPil(ex, rgb.width, rgb.height));
        labels.push(`Closest: ${refName}`);
      } else {
        tiles.push(createImage(rgb.width, rgb.height, [255, 255, 255]));
        labels.push(refClass !== undefined ? `Closest: ${refName ?? `class ${refClass}`} (no example)` : 'Closest: -');
      }
      for (const m of MODES) {
        const entry = sidecar.modes[m.name];
        if (!entry) continue;
        const arr = decodeNpy(new Uint8Array(await readFile(join(camsDir, entry.cam))));
        if (arr.shape[0] !== rgb.height || arr.shape[1] !== rgb.width) throw new Error(`${entry.cam} is ${arr.shape.join('×')}, the image is ${rgb.height}×${rgb.width}`);
        tiles.push(overlayCam(rgb, arr.data as Float32Array));
        labels.push(m.label);
      }
      await writePng(join(save, `${img.key}.png`), composeStrip(tiles, labels, { tileHeight }));
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
