import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SequenceMatcher,
  compareCodePoints,
  getCloseMatches,
  quickRatio,
  ratio,
  realQuickRatio,
} from '../../cli/util/difflib';

interface RatioCase {
  a: string;
  b: string;
  ratio: number;
  quick: number;
  realQuick: number;
  blocks: [number, number, number][];
  popular: string[];
}
interface CloseCase {
  word: string;
  pool?: string;
  possibilities?: string[];
  n1c08?: string[];
  default?: string[];
  n5c05?: string[];
  n?: number;
  cutoff?: number;
  result?: string[];
}
interface Fixture {
  pools: Record<string, string[]>;
  ratios: RatioCase[];
  closeMatches: CloseCase[];
  errors: { n: number; cutoff: number; message: string | null }[];
}

const fx: Fixture = JSON.parse(
  readFileSync(new URL('../fixtures/cli/difflib.json', import.meta.url), 'utf8'),
) as Fixture;

describe('difflib.SequenceMatcher (Python fixture)', () => {
  it('has long-sequence cases that trigger autojunk', () => {
    expect(fx.ratios.filter((r) => r.popular.length > 0).length).toBeGreaterThan(5);
    expect(fx.ratios.filter((r) => Array.from(r.b).length >= 200).length).toBeGreaterThan(5);
  });

  it('matches ratio, quick_ratio, real_quick_ratio, matching blocks and popular set exactly', () => {
    for (const c of fx.ratios) {
      const s = new SequenceMatcher(c.a, c.b);
      const ctx = JSON.stringify([c.a.slice(0, 40), c.b.slice(0, 40)]);
      expect(s.ratio(), ctx).toBe(c.ratio);
      expect(s.quickRatio(), ctx).toBe(c.quick);
      expect(s.realQuickRatio(), ctx).toBe(c.realQuick);
      expect(s.getMatchingBlocks().map((m) => [m.a, m.b, m.size]), ctx).toEqual(c.blocks);
      expect([...s.popular].sort(compareCodePoints), ctx).toEqual(c.popular);
      expect(ratio(c.a, c.b)).toBe(c.ratio);
      expect(quickRatio(c.a, c.b)).toBe(c.quick);
      expect(realQuickRatio(c.a, c.b)).toBe(c.realQuick);
    }
  });

  it('autojunk can be disabled and isjunk is honoured', () => {
    const a = 'y' + 'x'.repeat(199);
    const b = 'x'.repeat(200);
    expect(new SequenceMatcher(a, b).ratio()).toBe(0); // 'x' is popular in b (Python: 0.0)
    expect([...new SequenceMatcher(a, b).popular]).toEqual(['x']);
    expect(new SequenceMatcher(a, b, { autojunk: false }).ratio()).toBe(0.995);
    // a popular element is not junk: the match found at (0, 0) is still extended over it (Python: 0.995)
    expect(new SequenceMatcher('x'.repeat(199) + 'y', b).ratio()).toBe(0.995);
    // Python docs example: SequenceMatcher(lambda x: x == " ", "abcd", "abcd abcd")
    const s = new SequenceMatcher(' abcd', 'abcd abcd', { isjunk: (x) => x === ' ' });
    expect(s.findLongestMatch(0, 5, 0, 9)).toEqual({ a: 1, b: 0, size: 4 });
    expect(new SequenceMatcher(' abcd', 'abcd abcd').findLongestMatch(0, 5, 0, 9)).toEqual({ a: 0, b: 4, size: 5 });
    expect(
      new SequenceMatcher('private Thread currentThread;', 'private volatile Thread currentThread;', {
        isjunk: (x) => x === ' ',
      }).ratio().toFixed(3),
    ).toBe('0.866');
  });

  it('setSeq1 / setSeq2 reuse gives the same result as fresh matchers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (a, b, c) => {
        const s = new SequenceMatcher(a, b);
        const r1 = s.ratio();
        s.setSeq1(c);
        const r2 = s.ratio();
        s.setSeq2(a);
        expect(r1).toBe(ratio(a, b));
        expect(r2).toBe(ratio(c, b));
        expect(s.ratio()).toBe(ratio(c, a));
        // bounds: real_quick >= quick >= ratio
        expect(realQuickRatio(a, b)).toBeGreaterThanOrEqual(quickRatio(a, b));
        expect(quickRatio(a, b)).toBeGreaterThanOrEqual(ratio(a, b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('difflib.get_close_matches (Python fixture)', () => {
  it('matches every case exactly', () => {
    let checked = 0;
    for (const c of fx.closeMatches) {
      const poss = c.possibilities ?? fx.pools[c.pool!]!;
      if (c.result !== undefined) {
        expect(getCloseMatches(c.word, poss, c.n, c.cutoff), c.word).toEqual(c.result);
        checked++;
      } else {
        expect(getCloseMatches(c.word, poss, 1, 0.8), c.word).toEqual(c.n1c08);
        expect(getCloseMatches(c.word, poss), c.word).toEqual(c.default);
        expect(getCloseMatches(c.word, poss, 5, 0.5), c.word).toEqual(c.n5c05);
        checked += 3;
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it('the fixture contains hits, misses and results just around the 0.8 cutoff', () => {
    const withPool = fx.closeMatches.filter((c) => c.n1c08 !== undefined);
    expect(withPool.some((c) => c.n1c08!.length === 1)).toBe(true);
    expect(withPool.some((c) => c.n1c08!.length === 0 && c.default!.length > 0)).toBe(true);
  });

  it('maps folder names like generate_cams.py does', () => {
    const cars = fx.pools['cars']!;
    expect(getCloseMatches('Acura_RL_Sedan_2012', cars, 1, 0.8)).toEqual(['Acura RL Sedan 2012']);
    expect(getCloseMatches('unknown_folder', cars, 1, 0.8)).toEqual([]);
  });

  it('orders ties by the string, descending', () => {
    expect(getCloseMatches('abcd', ['zbcd', 'ybcd', 'xbcd', 'wbcd'], 4, 0)).toEqual(['zbcd', 'ybcd', 'xbcd', 'wbcd']);
    expect(getCloseMatches('abcd', ['wbcd', 'zbcd', 'xbcd', 'ybcd'], 2, 0)).toEqual(['zbcd', 'ybcd']);
  });

  it('validates n and cutoff with Python messages', () => {
    for (const e of fx.errors) {
      if (e.message === null) continue;
      expect(() => getCloseMatches('a', ['a'], e.n, e.cutoff)).toThrow(e.message);
    }
    expect(() => getCloseMatches('a', ['a'], 3, Number.NaN)).toThrow('cutoff must be in [0.0, 1.0]: nan');
    expect(() => getCloseMatches('a', ['a'], Number.NaN)).toThrow('n must be > 0: nan');
    expect(() => getCloseMatches('a', ['a'], 1.5)).toThrow(TypeError);
    expect(getCloseMatches('a', ['a'], 1, 1)).toEqual(['a']);
    expect(getCloseMatches('a', ['a'], 1, 0)).toEqual(['a']);
  });

  it('compares strings by code point like Python', () => {
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBe(1); // JS '<' would say the opposite
    expect(compareCodePoints('ab', 'abc')).toBe(-1);
    expect(compareCodePoints('abc', 'abc')).toBe(0);
    expect(compareCodePoints('b', 'abc')).toBe(1);
  });
});
