// CLIP's tokenizer against OpenAI's simple_tokenizer.py and clip.tokenize (test/fixtures/clip/tokenizer.json, made by
// test/reference/make_clip_fixtures.py from OpenAI's code with the real 49,408-token vocabulary).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';

const DIR = join(__dirname, '..', 'fixtures', 'clip');
const bpeGz = new Uint8Array(readFileSync(join(DIR, 'bpe_simple_vocab_16e6.txt.gz')));
const fx = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as {
  vocab_size: number; sot: number; eot: number;
  encode: { text: string; ids: number[] }[];
  decode: { ids: number[]; text: string }[];
  tokenize: { texts: string[]; context_length: number; truncate: boolean; ids: number[][] }[];
  too_long: { text: string; context_length: number }[];
};
const tok = F.ClipTokenizer.fromBpe(bpeGz);

function checkEncode(t: F.ClipTokenizer): void {
  const bad: string[] = [];
  for (const c of fx.encode) {
    const got = t.encode(c.text);
    if (JSON.stringify(got) !== JSON.stringify(c.ids)) bad.push(`${JSON.stringify(c.text)}: got ${JSON.stringify(got)}, expected ${JSON.stringify(c.ids)}`);
  }
  expect(bad.slice(0, 5)).toEqual([]);
}

describe('ClipTokenizer against OpenAI simple_tokenizer', () => {
  test('vocabulary size and special tokens', () => {
    expect(fx.encode.length).toBeGreaterThanOrEqual(1000);
    expect(tok.vocabSize).toBe(fx.vocab_size);
    expect([tok.sotToken, tok.eotToken]).toEqual([fx.sot, fx.eot]);
  });

  test(`encode: ${fx.encode.length} strings (punctuation, contractions, digits, accents, CJK, emoji, HTML entities, whitespace, long, empty)`, () => {
    checkEncode(tok);
  });

  test('decode: id lists, including bytes that are not valid UTF-8 on their own', () => {
    for (const c of fx.decode) expect(tok.decode(c.ids), JSON.stringify(c.ids)).toBe(c.text);
  });

  test('tokenize: padding, start/end tokens, truncation', async () => {
    for (const c of fx.tokenize) {
      const t = tok.tokenize(c.texts, { contextLength: c.context_length, truncate: c.truncate });
      expect(t.dtype).toBe('int32');
      expect(t.shape).toEqual([c.texts.length, c.context_length]);
      expect(Array.from(await t.data())).toEqual(c.ids.flat());
    }
    expect(Array.from(await tok.tokenize('a photo of a cat.').data())).toEqual(fx.tokenize[0].ids[0]);
  });

  test('over-long prompts are an error naming the prompt unless truncate is set', () => {
    for (const c of fx.too_long) {
      expect(() => tok.tokenize(['ok', c.text], { contextLength: c.context_length })).toThrow(/texts\[1\] .* longer than contextLength/);
    }
  });

  test('the plain (not gzip\'d) vocabulary file and its text give the same tokenizer', () => {
    const plain = new Uint8Array(gunzipSync(bpeGz));
    const t2 = F.ClipTokenizer.fromBpe(plain);
    const t3 = F.ClipTokenizer.fromBpe(new TextDecoder().decode(plain));
    for (const c of fx.encode.slice(0, 200)) {
      expect(t2.encode(c.text)).toEqual(c.ids);
      expect(t3.encode(c.text)).toEqual(c.ids);
    }
  });

  test('fromHuggingFace: vocab.json + merges.txt of the same vocabulary give the same ids', () => {
    const vocab = new Uint8Array(gunzipSync(readFileSync(join(DIR, 'hf_vocab.json.gz'))));
    const merges = new Uint8Array(gunzipSync(readFileSync(join(DIR, 'hf_merges.txt.gz'))));
    const hf = F.ClipTokenizer.fromHuggingFace(vocab, merges);
    expect(hf.vocabSize).toBe(fx.vocab_size);
    checkEncode(hf);
    for (const c of fx.decode.slice(0, 50)) expect(hf.decode(c.ids)).toBe(c.text);
  });

  test('every text round-trips through its bytes: no unknown tokens exist', () => {
    // Characters that cleaning leaves alone (no whitespace, no '&', already lower-case; no '<' so no '</w>'):
    // the tokens then cover the text exactly and decode gives it back with a space after each word.
    const ch = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter(
      (s) => !/[\s\p{Surrogate}&<\x85\x1c-\x1f]/u.test(s) && s.toLowerCase() === s);
    fc.assert(fc.property(ch, (s) => {
      const ids = tok.encode(s);
      for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < tok.vocabSize).toBe(true);
      expect(tok.decode(ids).replaceAll(' ', '')).toBe(s);
    }), { numRuns: 300, seed: 1 });
  });

  test('bad input: clear errors naming the argument', () => {
    expect(() => F.ClipTokenizer.fromBpe(new Uint8Array([0x1f, 0x8b, 1, 2]))).toThrow(/fromBpe\(bpe\): not a valid gzip file/);
    expect(() => F.ClipTokenizer.fromBpe('#version\na b\n')).toThrow(/fromBpe\(bpe\): expected CLIP's BPE file/);
    expect(() => F.ClipTokenizer.fromBpe(42 as unknown as string)).toThrow(/expected a Uint8Array or a string/);
    expect(() => F.ClipTokenizer.fromHuggingFace('[1]', '')).toThrow(/vocabJson\): expected a JSON object/);
    expect(() => F.ClipTokenizer.fromHuggingFace('{"a": 0}', '#version: 0.2\n')).toThrow(/no <\|startoftext\|> token/);
    expect(() => tok.encode('\ud800x')).toThrow(/lone UTF-16 surrogate/);
    expect(() => tok.decode([0, 49408])).toThrow(/ids\[1\] = 49408 is not a token id/);
    expect(() => tok.tokenize(['a'], { contextLength: 0 })).toThrow(/contextLength must be a positive integer/);
    expect(() => tok.tokenize([3 as unknown as string])).toThrow(/texts\[0\] must be a string/);
  });
});
