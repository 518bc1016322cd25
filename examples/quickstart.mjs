// Finer-CAM on one image with the library alone (no command line). The model is the bundled demo ResNet
// (12 procedural bird classes in look-alike pairs, cli/demo/weights); examples/bird.png is an
// Orange-billed Finch from outside its training set, whose look-alike is the Grey-billed Finch.
//
//   npm ci && node examples/quickstart.mjs [image] [out.png]
//
// prints the class and the references of the three modes of the official generate_cams.py and writes
// the Finer-Compare map over the image (default quickstart.png in the current folder).
import { readFile, writeFile } from 'node:fs/promises';
import * as F from '../dist/index.js';

const imagePath = process.argv[2] ?? new URL('bird.png', import.meta.url);
const outPath = process.argv[3] ?? 'quickstart.png';

// The weights file carries the architecture, the class names and the normalisation in its metadata.
const bytes = new Uint8Array(await readFile(new URL('../cli/demo/weights/demo-resnet.safetensors', import.meta.url)));
const meta = await F.loadSafetensorsMetadata(bytes);
const arch = JSON.parse(meta.arch);
const classNames = JSON.parse(meta.class_names);
const model = F.resnet({ block: arch.block, layers: arch.layers, widths: arch.widths, numClasses: classNames.length });
model.loadStateDict(await F.loadSafetensors(bytes));
model.eval();

const image = F.decodeImage(new Uint8Array(await readFile(imagePath)));
// preprocess has no default mean/std on purpose: a wrong one changes every score. This model was trained
// with ImageNet's (meta.norm); a ResNet needs no patch rounding, and it was trained at 96×96.
const { tensor: x, width, height } = F.preprocess(image, { maxSize: arch.inputSize, patchSize: 1, norm: meta.norm });

const cam = new F.FinerCAM({ model, targetLayers: [arch.targetLayer] });
const modes = [
  { label: 'Baseline', alpha: 0 },
  { label: 'Finer-Default', alpha: 1, referenceCategoryRanks: [1, 2, 3] },
  { label: 'Finer-Compare', alpha: 1, referenceCategoryRanks: [1] },
];
const r = await cam.forwardModes({ inputTensor: x, modes });
const p = await F.softmax(r.outputs, 1).data();
modes.forEach((m, i) => {
  const main = r.mainCategories[i][0];
  const refs = r.references[i][0].map((k) => classNames[k]);
  console.log(`${m.label.padEnd(14)} ${classNames[main]} (p = ${p[main].toFixed(3)})${m.alpha ? ` vs ${refs.join(', ')}` : ''}`);
});

// The map is on the target layer's grid: resize it as the official code does (cv2.resize, bilinear),
// min-max scale it and blend JET over the image the model saw.
const c = r.cams[2];
const [, h, w] = c.shape;
const map = F.resizeBilinearCv(Float32Array.from(await c.data()), w, h, 1, width, height);
let lo = Infinity;
let hi = -Infinity;
for (const v of map) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
const scaled = map.map((v) => (v - lo) / (hi - lo + 1e-8));
const seen = width === image.width && height === image.height ? image : F.resizeBicubicPil(image, width, height);
await writeFile(outPath, F.encodePng(F.showCamOnImage(seen, scaled)));
console.log(`wrote ${outPath}`);
cam.dispose();
