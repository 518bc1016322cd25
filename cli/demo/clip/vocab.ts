// The tiny CLIP's tokenizer files: CLIP's byte-level BPE (the same ClipTokenizer class users load OpenAI's vocabulary
// with, through its Hugging Face reader), with merges learnt from the demo's caption words instead of CLIP's 48,894.
// Learning is plain BPE made deterministic: over the distinct words (each counted once, so the result does not
// depend on how often a template is drawn), repeatedly merge the most frequent adjacent pair, ties broken by the
// pair's text in code-unit order, until every word is one symbol. The vocabulary has OpenAI's layout — 256 byte
// symbols, the same with '</w>', one symbol per merge, <|startoftext|>, <|endoftext|> — so any text still
// tokenizes (a word the captions never had falls back to bytes), and the ids are what fromBpe would give.
import * as F from '../../../index';
import { captionVocabularyText } from './captions';

/** Characters of CLIP's byte-level alphabet in OpenAI's vocabulary order (clip/simple_tokenizer.py bytes_to_unicode). */
function baseVocabulary(): string[] {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const printable = new Set(order);
  const ch: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) ch[b] = String.fromCharCode(printable.has(b) ? b : 256 + n++);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) order.push(b);
  return order.map((b) => ch[b]);
}

/** The words CLIP's pre-tokenizer makes of lower-case ASCII text (letters runs, single digits, other runs). */
function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+|[0-9]|[^\sa-z0-9]+/g) ?? [];
}

/** BPE merges that make every distinct word of `texts` a single symbol (ASCII text only). */
export function learnMerges(texts: readonly string[]): [string, string][] {
  const distinct = [...new Set(texts.flatMap(words))].sort();
  for (const w of distinct) if (/[^\x21-\x7e]/.test(w)) throw new Error(`learnMerges: only printable ASCII words are supported, got ${JSON.stringify(w)}`);
  const ws = distinct.map((w) => [...w.slice(0, -1), w.slice(-1) + '</w>']);
  const merges: [string, string][] = [];
  for (;;) {
    const counts = new Map<string, number>();
    for (const w of ws) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]} ${w[i + 1]}`, (counts.get(`${w[i]} ${w[i + 1]}`) ?? 0) + 1);
    if (counts.size === 0) return merges;
    let best = '';
    let bestCount = 0;
    for (const [k, c] of counts) if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    for (let j = 0; j < ws.length; j++) {
      const w = ws[j];
      const next: string[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(w[i]);
      }
      ws[j] = next;
    }
  }
}

export interface TokenizerFiles {
  /** Hugging Face's vocab.json: token → id. */
  vocabJson: string;
  /** Hugging Face's merges.txt: a '#version' line, then one merge per line. */
  mergesTxt: string;
}

/** The tiny CLIP's vocab.json and merges.txt, learnt from the caption vocabulary (same bytes every run). */
export function demoTokenizerFiles(): TokenizerFiles {
  const merges = learnMerges(captionVocabularyText());
  const base = baseVocabulary();
  const vocab = [...base, ...base.map((v) => v + '</w>'), ...merges.map(([a, b]) => a + b), '<|startoftext|>', '<|endoftext|>'];
  const obj: Record<string, number> = {};
  vocab.forEach((v, i) => (obj[v] = i));
  return {
    vocabJson: `${JSON.stringify(obj)}\n`,
    mergesTxt: `#version: 0.2 (finercam demo: BPE merges learnt from the demo's caption words)\n${merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`,
  };
}

export function tokenizerFromFiles(f: TokenizerFiles): F.ClipTokenizer {
  return F.ClipTokenizer.fromHuggingFace(f.vocabJson, f.mergesTxt);
}
