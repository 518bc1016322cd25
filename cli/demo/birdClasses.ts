/**
 * The classes of the procedural bird data set (see `birds.ts` for the
 * renderer and the full description): six binary part attributes and twelve
 * classes in six pairs, each pair differing in exactly one part.
 */

export type BirdPart = 'beak' | 'eyeRing' | 'crown' | 'throat' | 'wingBar' | 'tailTip';

export const BIRD_PARTS: readonly BirdPart[] = ['beak', 'eyeRing', 'crown', 'throat', 'wingBar', 'tailTip'];

/** Which part attributes are set (beak: orange instead of grey). */
export type BirdTraits = Readonly<Record<BirdPart, boolean>>;

export interface BirdClass {
  readonly id: number;
  readonly name: string;
  readonly traits: BirdTraits;
  /** The unique nearest class (differs in exactly one part). */
  readonly neighbour: number;
  /** The part that distinguishes this class from its neighbour. */
  readonly part: BirdPart;
}

function traits(code: string): BirdTraits {
  // code: one character per part in BIRD_PARTS order, '1' = set
  const t = {} as Record<BirdPart, boolean>;
  BIRD_PARTS.forEach((p, i) => (t[p] = code[i] === '1'));
  return t;
}

const CLASS_TABLE: readonly [string, string, number, BirdPart][] = [
  ['Grey-billed Finch', '000000', 1, 'beak'],
  ['Orange-billed Finch', '100000', 0, 'beak'],
  ['Plain-eyed Warbler', '001100', 3, 'eyeRing'],
  ['Spectacled Warbler', '011100', 2, 'eyeRing'],
  ['Plain-capped Sparrow', '010010', 5, 'crown'],
  ['Red-capped Sparrow', '011010', 4, 'crown'],
  ['Pale-throated Tanager', '010001', 7, 'throat'],
  ['Yellow-throated Tanager', '010101', 6, 'throat'],
  ['Plain-winged Wren', '001001', 9, 'wingBar'],
  ['Bar-winged Wren', '001011', 8, 'wingBar'],
  ['Dark-tailed Vireo', '000110', 11, 'tailTip'],
  ['White-tipped Vireo', '000111', 10, 'tailTip'],
];

export const BIRD_CLASSES: readonly BirdClass[] = CLASS_TABLE.map(([name, code, neighbour, part], id) =>
  Object.freeze({ id, name, traits: Object.freeze(traits(code)), neighbour, part }),
);

export const BIRD_CLASS_NAMES: readonly string[] = BIRD_CLASSES.map((c) => c.name);
