// The words of the multi-modal demo: one phrase per state of each bird part (birds.ts draws the part in that state),
// the attribute prompts the demo explains against each other, and the training captions that name 1-3 random parts
// of a bird ("a bird with an orange beak", "a bird with a red crown and a white wing bar", "a white tail tip").
// A caption is a claim about some parts; an image fits it when its traits agree on every named part — the
// contrastive loss (train.ts) counts every fitting image as a positive, not only the one it was written for.
import { BIRD_PARTS, type BirdPart, type BirdTraits } from '../birdClasses';

/** [phrase when the attribute is set, phrase when it is not] — the colours birds.ts paints. */
export const PART_PHRASES: Readonly<Record<BirdPart, readonly [string, string]>> = {
  beak: ['an orange beak', 'a grey beak'],
  eyeRing: ['a white eye ring', 'a plain eye'],
  crown: ['a red crown', 'a brown crown'],
  throat: ['a yellow throat', 'a brown throat'],
  wingBar: ['a white wing bar', 'a plain wing'],
  tailTip: ['a white tail tip', 'a dark tail tip'],
};

export interface AttributePrompt {
  part: BirdPart;
  /** The attribute is set (orange beak, eye ring, …) in this prompt. */
  set: boolean;
  text: string;
}

/** The 12 classes of the zero-shot classifier the demo explains: "a bird with <phrase>", part by part, set first. */
export const ATTRIBUTE_PROMPTS: readonly AttributePrompt[] = BIRD_PARTS.flatMap((part) =>
  [true, false].map((set) => ({ part, set, text: `a bird with ${PART_PHRASES[part][set ? 0 : 1]}` })),
);

/** Index in ATTRIBUTE_PROMPTS of the prompt that states `part` as `set`. */
export function promptIndex(part: BirdPart, set: boolean): number {
  return BIRD_PARTS.indexOf(part) * 2 + (set ? 0 : 1);
}

export interface Caption {
  text: string;
  /** The parts it names, with the state it claims. */
  claims: readonly { part: BirdPart; set: boolean }[];
}

const TEMPLATES: readonly ((phrases: string) => string)[] = [
  (p) => `a bird with ${p}`,
  (p) => `a bird with ${p}`,
  (p) => `a photo of a bird with ${p}.`,
  (p) => p,
];

/** A random caption of a bird with `traits`, naming 1 (50%), 2 (35%) or 3 (15%) distinct parts; `rng` in [0, 1). */
export function makeCaption(traits: BirdTraits, rng: () => number): Caption {
  const u = rng();
  const k = u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
  const parts = [...BIRD_PARTS];
  const claims: { part: BirdPart; set: boolean }[] = [];
  for (let i = 0; i < k; i++) {
    const j = Math.floor(rng() * parts.length);
    const part = parts.splice(j, 1)[0];
    claims.push({ part, set: traits[part] });
  }
  const phrases = claims.map((c) => PART_PHRASES[c.part][c.set ? 0 : 1]);
  const joined = phrases.length === 1 ? phrases[0] : `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
  const template = TEMPLATES[Math.floor(rng() * TEMPLATES.length)];
  return { text: template(joined), claims };
}

function phrase(claims: readonly { part: BirdPart; set: boolean }[], rng: () => number): string {
  const phrases = claims.map((c) => PART_PHRASES[c.part][c.set ? 0 : 1]);
  const joined = phrases.length === 1 ? phrases[0] : `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
  return TEMPLATES[Math.floor(rng() * TEMPLATES.length)](joined);
}

/** The same claims in words drawn afresh: the parts in a random order, a random template. */
export function rephrase(caption: Caption, rng: () => number): Caption {
  const claims = [...caption.claims];
  for (let i = claims.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [claims[i], claims[j]] = [claims[j], claims[i]];
  }
  return { text: phrase(claims, rng), claims };
}

/** Whether two captions make the same claims (in any order). */
export function sameClaims(a: Caption, b: Caption): boolean {
  return a.claims.length === b.claims.length && a.claims.every((c) => b.claims.some((d) => d.part === c.part && d.set === c.set));
}

/** Whether a bird with `traits` fits every claim of the caption. */
export function fits(traits: BirdTraits, caption: Caption): boolean {
  return caption.claims.every((c) => traits[c.part] === c.set);
}

/** Every word the captions and prompts can hold (what the tiny tokenizer's merges are learnt from). */
export function captionVocabularyText(): string[] {
  const phrases = BIRD_PARTS.flatMap((p) => [...PART_PHRASES[p]]);
  const lines = [...phrases, ...TEMPLATES.map((t) => t('x')), ...ATTRIBUTE_PROMPTS.map((p) => p.text), 'and ,'];
  return lines;
}
