// The byte-level BPE of OpenAI's simple_tokenizer.py: bytes_to_unicode's byte ↔ character table, and the merge loop
// that repeatedly joins the adjacent pair with the lowest merge rank. Every byte has a character and every character
// a base token, so no text is ever unknown.

let byteEncoder: string[] | null = null;

/** bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards (in byte order). */
export function bytesToUnicode(): readonly string[] {
  if (byteEncoder) return byteEncoder;
  const table: string[] = new Array(256);
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return (byteEncoder = table);
}

/** The 256 base characters in OpenAI's vocabulary order: printable ranges first, then the remapped bytes. */
export function baseVocabulary(): string[] {
  const enc = bytesToUnicode();
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order.map((b) => enc[b]);
}

/** Merge ranks keyed by 'first second' (a space never occurs inside a symbol: it is byte-encoded as 'Ġ'). */
export type MergeRanks = Map<string, number>;

/** SimpleTokenizer.bpe: the symbols of one byte-encoded word, the last one carrying the end-of-word mark '</w>'. */
export function bpeWord(token: string, ranks: MergeRanks): string[] {
  let word = [...token.slice(0, -1)];
  word.push(token.slice(-1) + '</w>');
  if (word.length === 1) return word;
  for (;;) {
    let best = Infinity;
    let first = '';
    let second = '';
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(word[i] + ' ' + word[i + 1]);
      if (r !== undefined && r < best) {
        best = r;
        first = word[i];
        second = word[i + 1];
      }
    }
    if (best === Infinity) break;
    const next: string[] = [];
    for (let i = 0; i < word.length; ) {
      if (word[i] === first && i + 1 < word.length && word[i + 1] === second) {
        next.push(first + second);
        i += 2;
      } else {
        next.push(word[i]);
        i += 1;
      }
    }
    word = next;
    if (word.length === 1) break;
  }
  return word;
}
