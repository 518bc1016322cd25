/**
 * The look-alike demo's 12 classes (`finercam demo --lookalike`), built so that each class has one
 * look-alike by construction, as fine-grained species do: 6 pairs, the two classes of a pair identical
 * except for one small part, and classes of different pairs different in at least 5 of the 7 attributes
 * (the plumage and at least 4 parts). A feature that follows what the image looks like therefore finds a
 * class's pair partner closest (the issue asks that the probe's logit-nearest class be the true look-alike
 * for ≥ 90% of the test images), and what tells the two apart is one small part whose mask the generator
 * knows. Both values of a distinguishing part are drawn (white vs yellow ring, not ring vs no ring): with
 * "part absent" on one side, a plain bird's logits came closest to the other plain-looking classes.
 *
 * Each class is a species of the broad pre-training task (cli/demo/broad.ts), one value per attribute; the
 * backbone is pre-trained on every other species and never sees these 12. (* = the pair's distinguishing part)
 *
 *   id | name                    | beak    | eye ring | crown  | throat  | wing bar | tail tip | plumage
 *   -- | ----------------------- | ------- | -------- | ------ | ------- | -------- | -------- | -------
 *    0 | Grey-billed Finch       | grey*   | white    | red    | -       | pale     | white    | brown
 *    1 | Orange-billed Finch     | orange* | white    | red    | -       | pale     | white    | brown
 *    2 | White-eyed Warbler      | grey    | white*   | -      | rufous  | -        | -        | grey
 *    3 | Yellow-eyed Warbler     | grey    | yellow*  | -      | rufous  | -        | -        | grey
 *    4 | Red-capped Sparrow      | yellow  | white    | red*   | yellow  | rufous   | -        | olive
 *    5 | Blue-capped Sparrow     | yellow  | white    | blue*  | yellow  | rufous   | -        | olive
 *    6 | Yellow-throated Tanager | grey    | -        | -      | yellow* | rufous   | black    | rufous
 *    7 | White-throated Tanager  | grey    | -        | -      | white*  | rufous   | black    | rufous
 *    8 | Pale-barred Wren        | yellow  | yellow   | black  | rufous  | pale*    | black    | slate
 *    9 | Rufous-barred Wren      | yellow  | yellow   | black  | rufous  | rufous*  | black    | slate
 *   10 | White-tipped Vireo      | pink    | yellow   | blue   | white   | -        | white*   | sand
 *   11 | Black-tipped Vireo      | pink    | yellow   | blue   | white   | -        | black*   | sand
 *
 * (The non-distinguishing values were chosen by a search for the largest smallest distance between
 * classes of different pairs; 5 of 7 is the best it found.) This module is data only: cli/demo/broad.ts
 * imports it to keep these species out of the pre-training draws, cli/demo/lookalikeData.ts renders them.
 */
import { BIRD_PARTS, type BirdPart } from './birdClasses';

export interface LookalikeClass {
  readonly id: number;
  readonly name: string;
  /** One value index per broad attribute (six parts, then plumage). */
  readonly species: readonly number[];
  /** The pair partner: the class's true look-alike. */
  readonly neighbour: number;
  /** The part that tells the class from its look-alike. */
  readonly part: BirdPart;
}

/**
 * The table above as broad value indices (cli/demo/broad.ts PART_VALUES / PLUMAGES): beak grey 0, orange 1,
 * yellow 2, pink 3; eye ring none 0, white 1, yellow 2; crown none 0, red 1, blue 2, black 3; throat none 0,
 * yellow 1, white 2, rufous 3; wing bar none 0, pale 1, rufous 2; tail tip none 0, white 1, black 2;
 * plumage brown 0, grey 1, olive 2, rufous 3, slate 4, sand 5.
 */
const TABLE: readonly [string, readonly number[]][] = [
  ['Grey-billed Finch', [0, 1, 1, 0, 1, 1, 0]],
  ['Orange-billed Finch', [1, 1, 1, 0, 1, 1, 0]],
  ['White-eyed Warbler', [0, 1, 0, 3, 0, 0, 1]],
  ['Yellow-eyed Warbler', [0, 2, 0, 3, 0, 0, 1]],
  ['Red-capped Sparrow', [2, 1, 1, 1, 2, 0, 2]],
  ['Blue-capped Sparrow', [2, 1, 2, 1, 2, 0, 2]],
  ['Yellow-throated Tanager', [0, 0, 0, 1, 2, 2, 3]],
  ['White-throated Tanager', [0, 0, 0, 2, 2, 2, 3]],
  ['Pale-barred Wren', [2, 2, 3, 3, 1, 2, 4]],
  ['Rufous-barred Wren', [2, 2, 3, 3, 2, 2, 4]],
  ['White-tipped Vireo', [3, 2, 2, 2, 0, 1, 5]],
  ['Black-tipped Vireo', [3, 2, 2, 2, 0, 2, 5]],
];

/** Classes 2k and 2k + 1 are a pair; their distinguishing part is the one attribute where they differ. */
export const LOOKALIKE_CLASSES: readonly LookalikeClass[] = TABLE.map(([name, species], id) => {
  const neighbour = id ^ 1;
  const differ = BIRD_PARTS.filter((_, i) => species[i] !== TABLE[neighbour][1][i]);
  if (differ.length !== 1 || species[6] !== TABLE[neighbour][1][6]) throw new Error(`look-alike class table: ${name} must differ from its pair partner in exactly one part`);
  return Object.freeze({ id, name, species: Object.freeze([...species]), neighbour, part: differ[0] });
});

export const LOOKALIKE_CLASS_NAMES: readonly string[] = LOOKALIKE_CLASSES.map((c) => c.name);
