// The multi-modal demo's pictures: for a test image and its class's distinguishing part, one PNG strip
// original | the part (magenta outline) | Baseline | Finer-Default | Finer-Compare | Finer-Pair, each map labelled
// with the prompt it explains and the prompts it is compared against.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as F from '../../../index';
import { MODES } from '../../modes';
import { resizeCam, writePng } from '../../image-io';
import { composeStrip } from '../../util/strip';
import { resizeNearest, type RgbImage } from '../../../image/canvas';
import { BIRD_CLASSES } from '../birds';
import { imagesToTensor } from '../model';
import { outlineMask, slug, stripPick, upscaleMask } from '../measures';
import { ATTRIBUTE_PROMPTS, PART_PHRASES, promptIndex } from './captions';
import { clipTestImage, modeSpecs } from './evaluate';
import type { LoadedClipDemo } from './model';

/** "an orange beak" for the prompt "a bird with an orange beak". */
function phrase(k: number): string {
  const p = ATTRIBUTE_PROMPTS[k];
  return PART_PHRASES[p.part][p.set ? 0 : 1];
}

export async function drawClipStrips(m: LoadedClipDemo, cam: F.FinerCAM, count: number, outDir: string, seed: number, device?: F.DeviceName): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const size = m.clip.imageResolution;
  const f = 4;
  const S = size * f;
  const K = ATTRIBUTE_PROMPTS.length;
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    // the k-th strip shows the test image stripPick names (odd classes first: their part's attribute is visible)
    const { classId, index } = stripPick(k, BIRD_CLASSES.length);
    const t = clipTestImage(index * BIRD_CLASSES.length + classId, size, seed);
    const info = BIRD_CLASSES[classId];
    const target = promptIndex(info.part, info.traits[info.part]);
    const x = imagesToTensor([t.image], F.NORMALIZATIONS.clip, device);
    const other = promptIndex(info.part, !info.traits[info.part]);
    const r = await cam.forwardModes({ inputTensor: x, targetIdx: target, modes: modeSpecs() });
    const pair = await cam.forwardModes({ inputTensor: x, targets: [new F.FinerWeightedTarget(target, [other], 1)], modes: [{ alpha: 1 }] });
    try {
      const pt = F.softmax(r.outputs, 1);
      const probs = await pt.data();
      pt.dispose();
      const big = resizeNearest(t.image, S, S);
      const tiles: RgbImage[] = [big, outlineMask(big, upscaleMask(t.masks[info.part], size, f), [255, 0, 255])];
      const labels = [`Original: ${info.name}\nprompt "${phrase(target)}"\np = ${(100 * probs[target]).toFixed(1)}% of ${K}`, `The named part\n${info.part}\n(magenta outline)`];
      for (let mi = 0; mi < MODES.length; mi++) {
        const c = r.cams[mi];
        const [, h, w] = c.shape;
        tiles.push(F.showCamOnImage(big, resizeCam(Float32Array.from(await c.data()), h, w, S, S), { style: 'finer-cam' }));
        const refs = r.references[mi][0];
        labels.push(`${MODES[mi].label}\n${MODES[mi].alpha === 0 ? `"${phrase(target)}"` : `vs ${refs.map(phrase).join(',\n')}`}`);
      }
      const pc = pair.cams[0];
      tiles.push(F.showCamOnImage(big, resizeCam(Float32Array.from(await pc.data()), pc.shape[1], pc.shape[2], S, S), { style: 'finer-cam' }));
      labels.push(`Finer-Pair\nvs ${phrase(other)}\n(the part's other state)`);
      const file = join(outDir, `${String(k + 1).padStart(2, '0')}-${slug(info.name)}-${slug(info.part)}.png`);
      await writePng(file, composeStrip(tiles, labels, { tileHeight: S, legend: true }));
      files.push(file);
    } finally {
      r.cams.forEach((c) => c.dispose());
      r.outputs.dispose();
      pair.cams.forEach((c) => c.dispose());
      pair.outputs.dispose();
      x.dispose();
    }
  }
  return files;
}
