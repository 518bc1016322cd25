/**
 * A faithful port of the parts of Python's `difflib` that the CLI needs:
 * `SequenceMatcher` (Ratcliff/Obershelp "gestalt" matching with the b2j index,
 * the junk/popular-element rules and the autojunk heuristic for sequences of
 * 200+ elements), its `ratio`, `quick_ratio` and `real_quick_ratio`, and
 * `get_close_matches` (used by the reference `generate_cams.py` to map a folder
 * name onto a class name with `n=1, cutoff=0.8`).
 *
 * Strings are compared as Python does: element by element over Unicode code
 * points (not UTF-16 code units), and ties in `getCloseMatches` are broken by
 * code-point order of the candidate strings, as `heapq.nlargest` over
 * `(score, string)` tuples does.
 */

/** A Python-style sequence: a string (split into code points) or an array of strings. */
export type Sequence = string | readonly string[];

/** `(a, b, size)`: `a[a..a+size] == b[b..b+size]`, as Python's `Match` named tuple. */
export interface Match {
  readonly a: number;
  readonly b: number;
  readonly size: number;
}

export interface SequenceMatcherOptions {
  /** Python's `isjunk`: elements of `b` for which it returns true are junk. Default none. */
  isjunk?: ((elt: string) => boolean) | null;
  /** Python's `autojunk` (default true): drop elements of `b` occurring > 1% + 1 times when `len(b) >= 200`. */
  autojunk?: boolean;
}

function toElements(s: Sequence): readonly string[] {
  return typeof s === 'string' ? Array.from(s) : s;
}

/** Python's `_calculate_ratio`. */
function calculateRatio(matches: number, length: number): number {
  return length ? (2.0 * matches) / length : 1.0;
}

const NOTHING: readonly number[] = [];

/**
 * Python's `difflib.SequenceMatcher` (comparison parts only; no opcodes).
 * `a` is "seq1", `b` is "seq2"; the b2j index, junk and popular sets are built
 * from `b`, exactly as in CPython.
 */
export class SequenceMatcher {
  private readonly isjunk: ((elt: string) => boolean) | null;
  private readonly autojunk: boolean;
  private a: readonly string[] = [];
  private b: readonly string[] = [];
  private b2j = new Map<string, number[]>();
  private bjunk = new Set<string>();
  private bpopular = new Set<string>();
  private fullbcount: Map<string, number> | null = null;
  private matchingBlocks: Match[] | null = null;

  constructor(a: Sequence = '', b: Sequence = '', options: SequenceMatcherOptions = {}) {
    this.isjunk = options.isjunk ?? null;
    this.autojunk = options.autojunk ?? true;
    this.setSeqs(a, b);
  }

  setSeqs(a: Sequence, b: Sequence): void {
    this.setSeq1(a);
    this.setSeq2(b);
  }

  setSeq1(a: Sequence): void {
    this.a = toElements(a);
    this.matchingBlocks = null;
  }

  setSeq2(b: Sequence): void {
    this.b = toElements(b);
    this.matchingBlocks = null;
    this.fullbcount = null;
    this.chainB();
  }

  /** The junk elements of `b` (from `isjunk`). */
  get junk(): ReadonlySet<string> {
    return this.bjunk;
  }

  /** The popular elements of `b` removed by the autojunk heuristic. */
  get popular(): ReadonlySet<string> {
    return this.bpopular;
  }

  private chainB(): void {
    const b = this.b;
    const b2j = new Map<string, number[]>();
    for (let i = 0; i < b.length; i++) {
      const elt = b[i]!;
      let indices = b2j.get(elt);
      if (indices === undefined) {
        indices = [];
        b2j.set(elt, indices);
      }
      indices.push(i);
    }
    const junk = new Set<string>();
    if (this.isjunk) {
      for (const elt of b2j.keys()) if (this.isjunk(elt)) junk.add(elt);
      for (const elt of junk) b2j.delete(elt);
    }
    const popular = new Set<string>();
    const n = b.length;
    if (this.autojunk && n >= 200) {
      const ntest = Math.floor(n / 100) + 1;
      for (const [elt, idxs] of b2j) if (idxs.length > ntest) popular.add(elt);
      for (const elt of popular) b2j.delete(elt);
    }
    this.b2j = b2j;
    this.bjunk = junk;
    this.bpopular = popular;
  }

  /**
   * Python's `find_longest_match(alo, ahi, blo, bhi)`: the longest junk-free
   * matching block in `a[alo:ahi]`, `b[blo:bhi]` (earliest in `a`, then in `b`),
   * extended by adjacent non-junk then junk equal elements.
   */
  findLongestMatch(alo = 0, ahi: number = this.a.length, blo = 0, bhi: number = this.b.length): Match {
    const { a, b, b2j, bjunk } = this;
    let besti = alo;
    let bestj = blo;
    let bestsize = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const newj2len = new Map<number, number>();
      const js = b2j.get(a[i]!) ?? NOTHING;
      for (let t = 0; t < js.length; t++) {
        const j = js[t]!;
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        newj2len.set(j, k);
        if (k > bestsize) {
          besti = i - k + 1;
          bestj = j - k + 1;
          bestsize = k;
        }
      }
      j2len = newj2len;
    }
    while (besti > alo && bestj > blo && !bjunk.has(b[bestj - 1]!) && a[besti - 1] === b[bestj - 1]) {
      besti--;
      bestj--;
      bestsize++;
    }
    while (
      besti + bestsize < ahi &&
      bestj + bestsize < bhi &&
      !bjunk.has(b[bestj + bestsize]!) &&
      a[besti + bestsize] === b[bestj + bestsize]
    ) {
      bestsize++;
    }
    while (besti > alo && bestj > blo && bjunk.has(b[bestj - 1]!) && a[besti - 1] === b[bestj - 1]) {
      besti--;
      bestj--;
      bestsize++;
    }
    while (
      besti + bestsize < ahi &&
      bestj + bestsize < bhi &&
      bjunk.has(b[bestj + bestsize]!) &&
      a[besti + bestsize] === b[bestj + bestsize]
    ) {
      bestsize++;
    }
    return { a: besti, b: bestj, size: bestsize };
  }

  /**
   * Python's `get_matching_blocks()`: non-adjacent matching blocks sorted by
   * position, terminated by the dummy `(len(a), len(b), 0)`. Uses CPython's
   * explicit LIFO queue, so ties resolve identically.
   */
  getMatchingBlocks(): readonly Match[] {
    if (this.matchingBlocks !== null) return this.matchingBlocks;
    const la = this.a.length;
    const lb = this.b.length;
    const queue: [number, number, number, number][] = [[0, la, 0, lb]];
    const blocks: Match[] = [];
    while (queue.length > 0) {
      const [alo, ahi, blo, bhi] = queue.pop()!;
      const x = this.findLongestMatch(alo, ahi, blo, bhi);
      const { a: i, b: j, size: k } = x;
      if (k) {
        blocks.push(x);
        if (alo < i && blo < j) queue.push([alo, i, blo, j]);
        if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
      }
    }
    blocks.sort((p, q) => p.a - q.a || p.b - q.b || p.size - q.size);
    let i1 = 0;
    let j1 = 0;
    let k1 = 0;
    const nonAdjacent: Match[] = [];
    for (const { a: i2, b: j2, size: k2 } of blocks) {
      if (i1 + k1 === i2 && j1 + k1 === j2) {
        k1 += k2;
      } else {
        if (k1) nonAdjacent.push({ a: i1, b: j1, size: k1 });
        i1 = i2;
        j1 = j2;
        k1 = k2;
      }
    }
    if (k1) nonAdjacent.push({ a: i1, b: j1, size: k1 });
    nonAdjacent.push({ a: la, b: lb, size: 0 });
    this.matchingBlocks = nonAdjacent;
    return nonAdjacent;
  }

  /** Python's `ratio()`: `2*M/T` (1.0 when both sequences are empty). */
  ratio(): number {
    let matches = 0;
    for (const m of this.getMatchingBlocks()) matches += m.size;
    return calculateRatio(matches, this.a.length + this.b.length);
  }

  /** Python's `quick_ratio()`: an upper bound on `ratio()` from element multisets. */
  quickRatio(): number {
    if (this.fullbcount === null) {
      const counts = new Map<string, number>();
      for (const elt of this.b) counts.set(elt, (counts.get(elt) ?? 0) + 1);
      this.fullbcount = counts;
    }
    const fullbcount = this.fullbcount;
    const avail = new Map<string, number>();
    let matches = 0;
    for (const elt of this.a) {
      const numb = avail.has(elt) ? avail.get(elt)! : (fullbcount.get(elt) ?? 0);
      avail.set(elt, numb - 1);
      if (numb > 0) matches++;
    }
    return calculateRatio(matches, this.a.length + this.b.length);
  }

  /** Python's `real_quick_ratio()`: an upper bound on `ratio()` from lengths only. */
  realQuickRatio(): number {
    const la = this.a.length;
    const lb = this.b.length;
    return calculateRatio(Math.min(la, lb), la + lb);
  }
}

/** `SequenceMatcher(None, a, b).ratio()`. */
export function ratio(a: Sequence, b: Sequence): number {
  return new SequenceMatcher(a, b).ratio();
}

/** `SequenceMatcher(None, a, b).quick_ratio()`. */
export function quickRatio(a: Sequence, b: Sequence): number {
  return new SequenceMatcher(a, b).quickRatio();
}

/** `SequenceMatcher(None, a, b).real_quick_ratio()`. */
export function realQuickRatio(a: Sequence, b: Sequence): number {
  return new SequenceMatcher(a, b).realQuickRatio();
}

/** Python's `%r` of a number (ints without a fraction, floats with one where Python shows it). */
function pyReprNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return String(x);
}

/** Compares strings by Unicode code point, as Python's `str` ordering does. */
export function compareCodePoints(x: string, y: string): number {
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const cx = x.codePointAt(i)!;
    const cy = y.codePointAt(j)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
    i += cx > 0xffff ? 2 : 1;
    j += cy > 0xffff ? 2 : 1;
  }
  const rx = i < x.length;
  const ry = j < y.length;
  return rx === ry ? 0 : rx ? 1 : -1;
}

/**
 * Python's `difflib.get_close_matches(word, possibilities, n=3, cutoff=0.6)`:
 * the best (at most `n`) possibilities whose `ratio()` against `word` is
 * `>= cutoff`, best first; equal scores are ordered by the string, descending
 * (the order of `heapq.nlargest` over `(score, x)` tuples).
 *
 * Throws `RangeError("n must be > 0: …")` / `RangeError("cutoff must be in [0.0, 1.0]: …")`
 * as Python raises `ValueError`, and a `TypeError` for a non-integer `n`.
 */
export function getCloseMatches(
  word: string,
  possibilities: Iterable<string>,
  n = 3,
  cutoff = 0.6,
): string[] {
  if (!(n > 0)) throw new RangeError(`n must be > 0: ${pyReprNumber(n)}`);
  if (!(cutoff >= 0.0 && cutoff <= 1.0)) {
    throw new RangeError(`cutoff must be in [0.0, 1.0]: ${pyReprNumber(cutoff)}`);
  }
  if (!Number.isInteger(n)) throw new TypeError(`n must be an integer: ${pyReprNumber(n)}`);
  const result: { score: number; x: string }[] = [];
  const s = new SequenceMatcher();
  s.setSeq2(word);
  for (const x of possibilities) {
    s.setSeq1(x);
    if (s.realQuickRatio() >= cutoff && s.quickRatio() >= cutoff && s.ratio() >= cutoff) {
      result.push({ score: s.ratio(), x });
    }
  }
  result.sort((p, q) => (p.score !== q.score ? (p.score > q.score ? -1 : 1) : -compareCodePoints(p.x, q.x)));
  return result.slice(0, n).map((r) => r.x);
}
