// CLIP's tokenizer, exactly as OpenAI's clip/simple_tokenizer.py and clip.tokenize: text is cleaned (HTML entities
// unescaped twice, whitespace collapsed, lower-cased), split by CLIP's word pattern, byte-encoded and BPE-merged.
// The one deliberate difference: ftfy.fix_text (mojibake repair, NFC) is not run, so text is tokenized as given;
// NFC-normalise it first (text.normalize('NFC')) to match OpenAI's on decomposed accents.
// Letters and digits (\p{L}, \p{N}) are JavaScript's Unicode tables; Python's `regex` may be an older Unicode version,
// so the two can split differently only on characters assigned in the newest Unicode releases.
import { tensor } from '../../core/ops/creation';
import type { Tensor } from '../../core/tensor';
import type { DeviceName } from '../../core/device';
import { baseVocabulary, bpeWord, bytesToUnicode, type MergeRanks } from './bpe';
import { gunzip, isGzip } from './gunzip';
import { cleanText, PY_REGEX_SPACE } from './text-clean';

const SOT = '<|startoftext|>';
const EOT = '<|endoftext|>';
/** OpenAI keeps the first 49152 − 256 − 2 merges of the file: 48,894. */
const NUM_MERGES = 49152 - 256 - 2;
const WORDS = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${PY_REGEX_SPACE}\\p{L}\\p{N}]+`, 'giu');
const LONE_SURROGATE = /\p{Surrogate}/u;
const CACHE_LIMIT = 50_000;

export interface TokenizeOptions {
  /** Tokens per row, start and end tokens included (OpenAI: 77). */
  contextLength?: number;
  /** Cut over-long prompts to contextLength, ending them with the end token, instead of throwing. */
  truncate?: boolean;
  /** Where the ids tensor is created (default: the default device). */
  device?: DeviceName;
}

function toText(data: Uint8Array | string, what: string): string {
  if (typeof data === 'string') return data;
  if (!(data instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(isGzip(data) ? gunzip(data, what) : data);
}

function parseMerges(lines: string[], what: string): [string, string][] {
  return lines.map((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) throw new Error(`${what}: merge line ${i + 2} should hold two symbols, got ${JSON.stringify(line)}`);
    return [parts[0], parts[1]];
  });
}

export class ClipTokenizer {
  readonly encoder: ReadonlyMap<string, number>;
  private readonly decoder = new Map<number, string>();
  private readonly ranks: MergeRanks = new Map();
  private readonly byteDecoder = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  readonly sotToken: number;
  readonly eotToken: number;

  private constructor(encoder: Map<string, number>, merges: [string, string][], what: string) {
    this.encoder = encoder;
    for (const [k, v] of encoder) this.decoder.set(v, k);
    merges.forEach(([a, b], i) => {
      if (!this.ranks.has(`${a} ${b}`)) this.ranks.set(`${a} ${b}`, i);
    });
    bytesToUnicode().forEach((c, b) => this.byteDecoder.set(c, b));
    const sot = encoder.get(SOT);
    const eot = encoder.get(EOT);
    if (sot === undefined || eot === undefined) throw new Error(`${what}: the vocabulary has no ${sot === undefined ? SOT : EOT} token`);
    this.sotToken = sot;
    this.eotToken = eot;
  }

  /** From OpenAI's bpe_simple_vocab_16e6.txt, gzip'd (as shipped) or plain, as bytes or text. */
  static fromBpe(bpe: Uint8Array | string): ClipTokenizer {
    const what = 'ClipTokenizer.fromBpe(bpe)';
    const lines = toText(bpe, what).split('\n');
    if (lines.length < NUM_MERGES + 1) throw new Error(`${what}: expected CLIP's BPE file with at least ${NUM_MERGES + 1} lines, got ${lines.length}`);
    const merges = parseMerges(lines.slice(1, NUM_MERGES + 1), what);
    const base = baseVocabulary();
    const vocab = [...base, ...base.map((v) => v + '</w>'), ...merges.map(([a, b]) => a + b), SOT, EOT];
    const encoder = new Map<string, number>();
    vocab.forEach((v, i) => encoder.set(v, i));
    return new ClipTokenizer(encoder, merges, what);
  }

  /** From a Hugging Face CLIPTokenizer's vocab.json and merges.txt (bytes or text; gzip'd is accepted too). */
  static fromHuggingFace(vocabJson: Uint8Array | string, mergesTxt: Uint8Array | string): ClipTokenizer {
    const what = 'ClipTokenizer.fromHuggingFace';
    let parsed: unknown;
    try {
      parsed = JSON.parse(toText(vocabJson, `${what}(vocabJson)`));
    } catch (e) {
      throw new Error(`${what}(vocabJson): not valid JSON (${(e as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${what}(vocabJson): expected a JSON object of token → id`);
    const encoder = new Map<string, number>();
    for (const [k, v] of Object.entries(parsed)) {
      if (!Number.isInteger(v) || (v as number) < 0) throw new Error(`${what}(vocabJson): the id of ${JSON.stringify(k)} is ${JSON.stringify(v)}, expected a non-negative integer`);
      encoder.set(k, v as number);
    }
    // As transformers' CLIPTokenizer: drop the '#version' line, keep at most CLIP's 48,894 merges.
    const lines = toText(mergesTxt, `${what}(mergesTxt)`).trim().split('\n');
    const body = (lines[0]?.startsWith('#') ? lines.slice(1) : lines).filter((l) => l.trim() !== '').slice(0, NUM_MERGES);
    const merges = parseMerges(body, `${what}(mergesTxt)`);
    return new ClipTokenizer(encoder, merges, what);
  }

  get vocabSize(): number {
    return this.encoder.size;
  }

  private bpe(token: string): string[] {
    if (token === SOT || token === EOT) return [token];
    let word = this.cache.get(token);
    if (!word) {
      word = bpeWord(token, this.ranks);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(token, word);
    }
    return word;
  }

  /** Token ids of `text`, without the start and end tokens (SimpleTokenizer.encode). */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`ClipTokenizer.encode: text must be a string, got ${text === null ? 'null' : typeof text}`);
    if (LONE_SURROGATE.test(text)) throw new Error(`ClipTokenizer.encode: text ${JSON.stringify(text.slice(0, 40))} holds a lone UTF-16 surrogate, which is not Unicode text`);
    const byteEnc = bytesToUnicode();
    const utf8 = new TextEncoder();
    const ids: number[] = [];
    for (const m of cleanText(text).matchAll(WORDS)) {
      let token = '';
      for (const b of utf8.encode(m[0])) token += byteEnc[b];
      for (const sym of this.bpe(token)) {
        const id = this.encoder.get(sym);
        if (id === undefined) throw new Error(`ClipTokenizer.encode: the vocabulary has no symbol ${JSON.stringify(sym)} (an incomplete vocabulary file?)`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Text of token ids (SimpleTokenizer.decode): invalid UTF-8 becomes U+FFFD, each '</w>' a space. */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const sym = this.decoder.get(ids[i]);
      if (sym === undefined) throw new RangeError(`ClipTokenizer.decode: ids[${i}] = ${ids[i]} is not a token id (0 … ${this.vocabSize - 1})`);
      for (const c of sym) bytes.push(this.byteDecoder.get(c)!);
    }
    // ignoreBOM: Python keeps a leading U+FEFF; TextDecoder would drop it.
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes)).replaceAll('</w>', ' ');
  }

  /** clip.tokenize: an int32 tensor [texts, contextLength] of start token, ids, end token, zero padding. */
  tokenize(texts: string | readonly string[], opts: TokenizeOptions = {}): Tensor {
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list)) throw new TypeError('ClipTokenizer.tokenize: texts must be a string or an array of strings');
    const n = opts.contextLength ?? 77;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`ClipTokenizer.tokenize: contextLength must be a positive integer, got ${n}`);
    const out = new Int32Array(list.length * n);
    list.forEach((text, i) => {
      if (typeof text !== 'string') throw new TypeError(`ClipTokenizer.tokenize: texts[${i}] must be a string, got ${text === null ? 'null' : typeof text}`);
      let ids = [this.sotToken, ...this.encode(text), this.eotToken];
      if (ids.length > n) {
        if (!opts.truncate) {
          throw new RangeError(`ClipTokenizer.tokenize: texts[${i}] (${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)}) is ${ids.length} tokens with start and end, longer than contextLength ${n}; shorten it or pass truncate: true`);
        }
        ids = ids.slice(0, n);
        ids[n - 1] = this.eotToken;
      }
      out.set(ids, i * n);
    });
    return tensor(out, [list.length, n], { dtype: 'int32', device: opts.device });
  }
}
