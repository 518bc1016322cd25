// The tiny CLIP's tokenizer (cli/demo/clip/vocab.ts): CLIP's byte-level BPE through the same ClipTokenizer users load
// OpenAI's vocabulary with, merges learnt reproducibly from the caption words; the committed files are those bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ATTRIBUTE_PROMPTS, captionVocabularyText, makeCaption, fits, PART_PHRASES } from '../../cli/demo/clip/captions';
import { clipDemoPaths } from '../../cli/demo/clip/model';
import { demoTokenizerFiles, learnMerges, tokenizerFromFiles } from '../../cli/demo/clip/vocab';
import { BIRD_PARTS, type BirdTraits } from '../../cli/demo/birdClasses';
import { mulberry32 } from '../../cli/demo/rng';

describe('tiny CLIP tokenizer', () => {
  test('the committed vocab.json and merges.txt are what vocab.ts learns', () => {
    const f = demoTokenizerFiles();
    const dir = clipDemoPaths().tokenizer;
    expect(readFileSync(join(dir, 'vocab.json'), 'utf8')).toBe(f.vocabJson);
    expect(readFileSync(join(dir, 'merges.txt'), 'utf8')).toBe(f.mergesTxt);
  });

  test('every caption word is one token; OpenAI\'s layout (bytes, bytes</w>, merges, start, end)', () => {
    const tok = tokenizerFromFiles(demoTokenizerFiles());
    const merges = learnMerges(captionVocabularyText());
    expect(tok.vocabSize).toBe(512 + merges.length + 2);
    expect(tok.sotToken).toBe(512 + merges.length);
    expect(tok.eotToken).toBe(513 + merges.length);
    const words = new Set(captionVocabularyText().join(' ').split(/\s+|(?=[.,])/).filter(Boolean));
    for (const w of words) expect(tok.encode(w), w).toHaveLength(1);
    // "a bird with an orange beak": six words, six tokens, and back
    for (const p of ATTRIBUTE_PROMPTS) {
      expect(tok.encode(p.text)).toHaveLength(p.text.split(' ').length);
      expect(tok.decode(tok.encode(p.text)).trim()).toBe(p.text);
    }
  });

  test('text outside the captions still tokenizes (byte fallback) and round-trips', () => {
    const tok = tokenizerFromFiles(demoTokenizerFiles());
    for (const s of ['a blue heron', 'zürich 2024 ✓', '日本の鳥 🐦']) expect(tok.decode(tok.encode(s)).replace(/ /g, '')).toBe(s.replace(/ /g, ''));
  });

  test('BPE learning: merges make each word a single symbol, ties broken by text', () => {
    expect(learnMerges(['ab ab'])).toEqual([['a', 'b</w>']]);
    expect(learnMerges(['abc abd'])).toEqual([['a', 'b'], ['ab', 'c</w>'], ['ab', 'd</w>']]);
    expect(() => learnMerges(['café'])).toThrow(/only printable ASCII/);
  });

  test('captions name 1-3 parts truthfully; fits() checks every claim', () => {
    const rng = mulberry32(5);
    const counts = [0, 0, 0, 0];
    const tok = tokenizerFromFiles(demoTokenizerFiles());
    for (let i = 0; i < 300; i++) {
      const traits = Object.fromEntries(BIRD_PARTS.map((p) => [p, rng() < 0.5])) as BirdTraits;
      const c = makeCaption(traits, rng);
      counts[c.claims.length]++;
      expect(fits(traits, c)).toBe(true);
      for (const cl of c.claims) expect(c.text).toContain(PART_PHRASES[cl.part][cl.set ? 0 : 1]);
      const flipped = { ...traits, [c.claims[0].part]: !traits[c.claims[0].part] };
      expect(fits(flipped, c)).toBe(false);
      expect(tok.encode(c.text).length + 2).toBeLessThanOrEqual(24); // the tiny CLIP's context
    }
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBeGreaterThan(counts[2]);
    expect(counts[3]).toBeGreaterThan(0);
  });
});
