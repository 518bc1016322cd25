// Zero-shot use of the tiny CLIP: the classifier over the 12 attribute prompts, and its honest accuracy — for each
// image and part, does the prompt of the part's true state ("a bird with an orange beak") score above the prompt of
// the other state ("a bird with a grey beak")? Chance is 50%. Measured on the 12 demo classes' images.
import * as F from '../../../index';
import { BIRD_CLASSES, makeDataset } from '../birds';
import { BIRD_PARTS } from '../birdClasses';
import { imagesToTensor } from '../model';
import { ATTRIBUTE_PROMPTS, promptIndex } from './captions';

/** Validation images (training progress, clip-tiny.json) and test images (the demo's table): never trained on. */
export const VALIDATION_SEED = 8_100_001;
export const CLIP_TEST_SEED = 8_200_001;

export function attributeClassifier(clip: F.CLIP, tokenizer: F.ClipTokenizer): F.ZeroShotClassifier {
  return new F.ZeroShotClassifier(clip, { tokenizer, prompts: ATTRIBUTE_PROMPTS.map((p) => p.text) }).eval();
}

export interface PartAccuracy {
  /** Per part: share of images where the true state's prompt beats the other state's. */
  byPart: Record<string, number>;
  mean: number;
  images: number;
}

/** The zero-shot part accuracy on `perClass` images of each demo class rendered from `seed`. */
export async function partAccuracy(clip: F.CLIP, tokenizer: F.ClipTokenizer, seed: number, perClass: number, device?: F.DeviceName): Promise<PartAccuracy> {
  const zs = attributeClassifier(clip, tokenizer);
  const data = makeDataset({ perClass, seed, size: clip.imageResolution });
  const K = ATTRIBUTE_PROMPTS.length;
  const hits = BIRD_PARTS.map(() => 0);
  for (let s = 0; s < data.images.length; s += 32) {
    const images = data.images.slice(s, s + 32);
    const z = await F.noGrad(() => F.tidy(() => zs.forward(imagesToTensor(images, F.NORMALIZATIONS.clip, device)))).data();
    images.forEach((_, j) => {
      const traits = BIRD_CLASSES[data.labels[s + j]].traits;
      BIRD_PARTS.forEach((part, pi) => {
        const yes = z[j * K + promptIndex(part, traits[part])];
        const no = z[j * K + promptIndex(part, !traits[part])];
        if (yes > no) hits[pi]++;
      });
    });
  }
  const n = data.images.length;
  const byPart = Object.fromEntries(BIRD_PARTS.map((p, i) => [p, hits[i] / n]));
  return { byPart, mean: hits.reduce((a, b) => a + b, 0) / (n * BIRD_PARTS.length), images: n };
}
