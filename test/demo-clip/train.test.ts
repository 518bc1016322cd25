// Training the tiny CLIP is reproducible bit for bit: the same seed gives the same weight bytes on the wasm backend
// (whatever its thread count), another seed other bytes; the contrastive targets count every fitting pair.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { contrastiveTargets, paraphraseTargets, promptTargets, trainingBatch, trainTinyClip } from '../../cli/demo/clip/train';
import { makeCaption, rephrase, sameClaims } from '../../cli/demo/clip/captions';
import { mulberry32 } from '../../cli/demo/rng';
import { BIRD_PARTS, type BirdTraits } from '../../cli/demo/birdClasses';

async function weightBytes(seed: number): Promise<Uint8Array> {
  const prev = F.getDefaultBackend().name;
  expect(await F.setDefaultDevice('wasm')).toBe('wasm');
  try {
    const r = await trainTinyClip({ steps: 2, batchSize: 6, seed, valPerClass: 0, log: null, progress: false });
    expect(r.clip.logitScale.device).toBe('wasm');
    return F.saveSafetensors(r.clip.stateDict());
  } finally {
    await F.setDefaultDevice(prev);
  }
}

describe('tiny CLIP training', () => {
  test('same seed → same weight bytes; another seed → other bytes (short run on wasm)', async () => {
    const a = await weightBytes(7);
    const b = await weightBytes(7);
    const c = await weightBytes(8);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  }, 120_000);

  test('the wasm backend gives the same bytes on 1 thread as on several', async () => {
    F.setCpuThreads(1);
    const one = await weightBytes(7);
    F.setCpuThreads(4);
    const many = await weightBytes(7);
    expect(Buffer.from(one).equals(Buffer.from(many))).toBe(true);
  }, 120_000);

  test('batches are deterministic in (seed, step) and differ between steps', () => {
    const a = trainingBatch(3, 0, 4, 32);
    const b = trainingBatch(3, 0, 4, 32);
    const c = trainingBatch(3, 1, 4, 32);
    expect(a.captions.map((x) => x.text)).toEqual(b.captions.map((x) => x.text));
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data))).toBe(true);
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(c.images[0].data))).toBe(false);
  });

  test('contrastive targets: spread evenly over the fitting pairs, rows sum to 1', () => {
    const t = (bits: string) => Object.fromEntries(BIRD_PARTS.map((p, i) => [p, bits[i] === '1'])) as BirdTraits;
    const traits = [t('100000'), t('000000'), t('110000')];
    const cap = (part: 'beak' | 'eyeRing', set: boolean) => ({ text: '', claims: [{ part, set }] });
    const captions = [cap('beak', true), cap('beak', false), cap('eyeRing', true)];
    const { perImage, perText } = contrastiveTargets(traits, captions);
    // image 0 (orange beak, no ring) fits caption 0 only; image 2 (orange beak, ring) fits captions 0 and 2
    expect(Array.from(perImage)).toEqual([1, 0, 0, 0, 1, 0, 0.5, 0, 0.5]);
    // caption 0 (orange beak) fits images 0 and 2; caption 2 (eye ring) image 2 only
    expect(Array.from(perText)).toEqual([0.5, 0, 0.5, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(promptTargets([t('100000')]))).toEqual([0, 1, 1, 1, 1, 1]);
    const rng = () => 0.3;
    expect(makeCaption(t('100000'), rng).claims.length).toBe(1);
  });

  test('paraphrases keep the claims in other words; their targets count same-claim captions', () => {
    const rng = mulberry32(11);
    const t = Object.fromEntries(BIRD_PARTS.map((p, i) => [p, i % 2 === 0])) as BirdTraits;
    let reworded = 0;
    for (let i = 0; i < 50; i++) {
      const c = makeCaption(t, rng);
      const p = rephrase(c, rng);
      expect(sameClaims(c, p)).toBe(true);
      if (p.text !== c.text) reworded++;
    }
    expect(reworded).toBeGreaterThan(10);
    const cap = (...claims: ['beak' | 'crown', boolean][]) => ({ text: '', claims: claims.map(([part, set]) => ({ part, set })) });
    const a = cap(['beak', true], ['crown', false]);
    const b = cap(['crown', false], ['beak', true]);
    const c = cap(['beak', true]);
    expect(sameClaims(a, b)).toBe(true);
    expect(sameClaims(a, c)).toBe(false);
    expect(sameClaims(c, a)).toBe(false);
    const { perCaption, perParaphrase } = paraphraseTargets([a, c, b], [b, c, a]);
    expect(Array.from(perCaption)).toEqual([0.5, 0, 0.5, 0, 1, 0, 0.5, 0, 0.5]);
    expect(Array.from(perParaphrase)).toEqual([0.5, 0, 0.5, 0, 1, 0, 0.5, 0, 0.5]);
  });
});
