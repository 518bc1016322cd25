/**
 * The broader procedural task the look-alike demo's backbone is pre-trained on (cli/demo/backbone.ts):
 * the demo's bird drawn with many more appearances, so that the backbone learns what birds are made of
 * without ever being told about (or shown) the 12 demo classes.
 *
 * A "species" is one value per attribute below; every image draws a species uniformly at random, its
 * pose (position, scale, rotation, facing), background (8 palettes instead of the demo's 5), lighting
 * and noise from its seed. 4·3·4·4·3·3·6 = 10,368 species. The look-alike demo's 12 classes are 12
 * of these species (cli/demo/lookalikeClasses.ts), and so are the ResNet demo's 12 (demo plumage, demo
 * colours); those 24 are re-drawn whenever they come up, so the backbone never sees an image of a demo
 * class.
 *
 *   attribute | values (index 0 = the demo's "not set", index 1 = the demo's "set")
 *   --------- | -----------------------------------------------------------------
 *   beak      | grey, orange, yellow, pink
 *   eyeRing   | none, white, yellow
 *   crown     | none, red, blue, black
 *   throat    | none, yellow, white, rufous
 *   wingBar   | none, pale, rufous
 *   tailTip   | none, white, black
 *   plumage   | brown (the demo's), grey, olive, rufous, slate, sand
 *
 * The pre-training labels are the seven attribute values of the image (one softmax head each) and, for
 * every patch of the ViT's token grid, which value of each part it shows (or that the part is not there:
 * `tokenLabels`), a dense part-parsing task that teaches every token what it sees.
 */
import { ATTRIBUTE_COLOR, BACKGROUNDS, BIRD_CLASSES, BIRD_PARTS, renderBirdTraits, type BirdPart, type BirdRender, type BirdStyle, type Rgbf } from './birds';
import { checkSeed, hashInts, mulberry32 } from './rng';
import { LOOKALIKE_CLASSES } from './lookalikeClasses';

const set = (p: BirdPart): Rgbf => ATTRIBUTE_COLOR[p][0];
const unset = (p: BirdPart): Rgbf | null => ATTRIBUTE_COLOR[p][1];

/** Colours of each part attribute value (null: not drawn); index 0/1 are the demo's unset/set colours. */
export const PART_VALUES: Readonly<Record<BirdPart, readonly (Rgbf | null)[]>> = {
  beak: [unset('beak'), set('beak'), [238, 212, 58], [226, 150, 158]],
  eyeRing: [null, set('eyeRing'), [240, 220, 70]],
  crown: [null, set('crown'), [52, 96, 206], [30, 28, 32]],
  throat: [null, set('throat'), [244, 244, 236], [196, 98, 46]],
  wingBar: [null, set('wingBar'), [190, 104, 50]],
  tailTip: [null, set('tailTip'), [26, 24, 28]],
};

/** Plumage palettes: [body, wing, belly]; index 0 is the demo's. */
export const PLUMAGES: readonly (readonly [Rgbf, Rgbf, Rgbf])[] = [
  [[122, 108, 78], [84, 72, 56], [214, 200, 166]],
  [[128, 128, 132], [88, 88, 94], [210, 210, 206]],
  [[112, 122, 70], [78, 88, 48], [206, 208, 150]],
  [[150, 92, 58], [108, 64, 42], [226, 190, 150]],
  [[86, 100, 128], [58, 68, 92], [196, 204, 214]],
  [[176, 156, 112], [134, 116, 82], [234, 222, 190]],
];

/** The demo's five backgrounds plus three more (dark forest, sand, dusk violet). */
export const BROAD_BACKGROUNDS: readonly Rgbf[] = [...BACKGROUNDS, [58, 84, 52], [196, 176, 132], [126, 110, 142]];

/** Attribute names in label order, and the number of values of each. */
export const BROAD_ATTRIBUTES: readonly string[] = [...BIRD_PARTS, 'plumage'];
export const BROAD_CARDINALITIES: readonly number[] = [...BIRD_PARTS.map((p) => PART_VALUES[p].length), PLUMAGES.length];
/** Total logits of the pre-training head (one softmax group per attribute). */
export const BROAD_OUTPUTS = BROAD_CARDINALITIES.reduce((a, b) => a + b, 0);

/** One species: an attribute value index per attribute (BROAD_ATTRIBUTES order). */
export type Species = readonly number[];

/**
 * Whether `sp` is a class of a demo: one of the look-alike demo's 12 (cli/demo/lookalikeClasses.ts), or one
 * of the ResNet demo's 12 (the demo's plumage and colours, cli/demo/birdClasses.ts).
 */
export function isDemoSpecies(sp: Species): boolean {
  if (LOOKALIKE_CLASSES.some((c) => c.species.every((v, i) => sp[i] === v))) return true;
  if (sp[6] !== 0) return false;
  return BIRD_CLASSES.some((c) => BIRD_PARTS.every((p, i) => sp[i] === (c.traits[p] ? 1 : 0)));
}

/** The species of broad image `index` of data set `seed` (never a demo class). */
export function broadSpecies(seed: number, index: number): Species {
  const rng = mulberry32(hashInts(checkSeed(seed), index, 0x5bec));
  for (;;) {
    const sp = BROAD_CARDINALITIES.map((n) => Math.floor(rng() * n));
    if (!isDemoSpecies(sp)) return sp;
  }
}

export function speciesStyle(sp: Species): BirdStyle {
  const parts: Partial<Record<BirdPart, Rgbf | null>> = {};
  BIRD_PARTS.forEach((p, i) => (parts[p] = PART_VALUES[p][sp[i]]));
  const [plumage, wing, belly] = PLUMAGES[sp[6]];
  return { plumage, wing, belly, backgrounds: BROAD_BACKGROUNDS, parts };
}

/** All parts "not set": the species style then gives every part's colour. */
export const NO_TRAITS = Object.freeze(Object.fromEntries(BIRD_PARTS.map((p) => [p, false]))) as Readonly<Record<BirdPart, boolean>>;

/** Broad image `index` of data set `seed`: its species and the render (no part mask). */
export function renderBroad(seed: number, index: number, size: number): { species: Species; render: BirdRender } {
  const species = broadSpecies(seed, index);
  const render = renderBirdTraits(NO_TRAITS, hashInts(checkSeed(seed), index, 0xb10d), { size, style: speciesStyle(species), allMasks: true });
  return { species, render };
}

/**
 * Dense labels of a render on a `grid`×`grid` patch grid: for each part (BIRD_PARTS order) an Int32Array
 * of grid² labels, the species' value of that part where the part's mask covers at least 30% of the
 * patch, else the extra label `cardinality` ("not here").
 */
export function tokenLabels(render: BirdRender, species: Species, size: number, grid: number): Int32Array[] {
  const p = size / grid;
  if (!Number.isInteger(p)) throw new RangeError(`tokenLabels: ${size} is not a multiple of the grid ${grid}`);
  const masks = render.partMasks;
  if (!masks) throw new Error('tokenLabels: the render has no part masks (allMasks)');
  return BIRD_PARTS.map((part, a) => {
    const m = masks[part];
    const out = new Int32Array(grid * grid).fill(BROAD_CARDINALITIES[a]);
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        let c = 0;
        for (let y = gy * p; y < (gy + 1) * p; y++) for (let x = gx * p; x < (gx + 1) * p; x++) c += m[y * size + x];
        if (c >= 0.3 * p * p) out[gy * grid + gx] = species[a];
      }
    }
    return out;
  });
}
