import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BIRD_CLASSES,
  BIRD_CLASS_NAMES,
  BIRD_PARTS,
  makeDataset,
  renderBird,
  renderBirdTraits,
  sampleSeed,
  type BirdTraits,
} from '../../cli/demo/birds';
import { hashInts, mulberry32 } from '../../cli/demo/rng';

function hamming(a: BirdTraits, b: BirdTraits): number {
  return BIRD_PARTS.filter((p) => a[p] !== b[p]).length;
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

describe('bird classes', () => {
  it('has 12 uniquely named classes in 6 pairs differing in exactly one (distinct) part', () => {
    expect(BIRD_CLASSES.length).toBe(12);
    expect(new Set(BIRD_CLASS_NAMES).size).toBe(12);
    const pairParts = new Set<string>();
    for (const c of BIRD_CLASSES) {
      const n = BIRD_CLASSES[c.neighbour]!;
      expect(n.neighbour).toBe(c.id);
      expect(n.part).toBe(c.part);
      expect(hamming(c.traits, n.traits)).toBe(1);
      expect(c.traits[c.part]).not.toBe(n.traits[c.part]);
      pairParts.add(c.part);
    }
    expect([...pairParts].sort()).toEqual([...BIRD_PARTS].sort());
  });

  it('the neighbour is the unique nearest class', () => {
    for (const c of BIRD_CLASSES) {
      for (const o of BIRD_CLASSES) {
        if (o.id === c.id || o.id === c.neighbour) continue;
        expect(hamming(c.traits, o.traits), `${c.name} vs ${o.name}`).toBeGreaterThanOrEqual(2);
      }
    }
  });
});

describe('renderBird', () => {
  it('returns a size x size RGB image and mask', () => {
    for (const size of [16, 32, 64, 97]) {
      const r = renderBird(3, 42, { size });
      expect(r.image.width).toBe(size);
      expect(r.image.height).toBe(size);
      expect(r.image.data.length).toBe(size * size * 3);
      expect(r.partMask.length).toBe(size * size);
    }
    expect(renderBird(0, 1).image.width).toBe(64);
  });

  it('is deterministic in the seed', () => {
    for (const [c, seed] of [
      [0, 0],
      [5, 123456],
      [11, -7],
      [7, 2 ** 31 + 5],
    ] as const) {
      const a = renderBird(c, seed);
      const b = renderBird(c, seed);
      expect(b.image.data).toEqual(a.image.data);
      expect(b.partMask).toEqual(a.partMask);
    }
    expect(renderBird(0, 1).image.data).not.toEqual(renderBird(0, 2).image.data);
  });

  it('is stable across versions (golden checksums; update deliberately)', () => {
    const digest = [0, 6, 11].map((c) => sha(renderBird(c, 2024).image.data) + ':' + sha(renderBird(c, 2024).partMask));
    expect(digest).toMatchInlineSnapshot(`
      [
        "bdc967e5e446a680:a228b3cdab74c78e",
        "4121fa7a61031a23:8f2c6e186cdcd03a",
        "316b76ba590c6566:9484748f4394377a",
      ]
    `);
  });

  it('masks are 0/1, non-empty and a small part of the image, for every class and many seeds', () => {
    for (const size of [32, 64]) {
      for (let s = 0; s < 40; s++) {
        for (const c of BIRD_CLASSES) {
          const { partMask } = renderBird(c.id, s * 31 + c.id, { size });
          let count = 0;
          let bad = 0;
          for (const v of partMask) {
            if (v !== 0 && v !== 1) bad++;
            count += v;
          }
          expect(bad).toBe(0);
          expect(count, `${c.name} seed ${s} size ${size}`).toBeGreaterThanOrEqual(size >= 64 ? 8 : 3);
          expect(count / (size * size)).toBeLessThan(0.04);
        }
      }
    }
  });

  it('a class and its neighbour differ only inside the (shared) part mask', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 11 }), fc.constantFrom(24, 48, 64, 80), (seed, id, size) => {
        const a = renderBird(id, seed, { size });
        const b = renderBird(BIRD_CLASSES[id]!.neighbour, seed, { size });
        expect(b.partMask).toEqual(a.partMask);
        let inside = 0;
        const outside: number[] = [];
        for (let i = 0; i < size * size; i++) {
          const same =
            a.image.data[3 * i] === b.image.data[3 * i] &&
            a.image.data[3 * i + 1] === b.image.data[3 * i + 1] &&
            a.image.data[3 * i + 2] === b.image.data[3 * i + 2];
          if (a.partMask[i] || b.partMask[i]) inside += same ? 0 : 1;
          else if (!same) outside.push(i);
        }
        expect(outside, 'pixels outside the mask that differ').toEqual([]);
        expect(inside).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it('each single attribute only changes pixels inside its own footprint', () => {
    const none = Object.fromEntries(BIRD_PARTS.map((p) => [p, false])) as BirdTraits;
    for (let seed = 0; seed < 20; seed++) {
      const base = renderBirdTraits(none, seed, { maskPart: null });
      expect(base.partMask.every((v) => v === 0)).toBe(true);
      for (const part of BIRD_PARTS) {
        const r = renderBirdTraits({ ...none, [part]: true }, seed, { maskPart: part });
        const fp = renderBirdTraits(none, seed, { maskPart: part }).partMask;
        expect(r.partMask).toEqual(fp);
        let changed = 0;
        for (let i = 0; i < 64 * 64; i++) {
          const diff = [0, 1, 2].some((ch) => r.image.data[3 * i + ch] !== base.image.data[3 * i + ch]);
          if (diff) {
            expect(fp[i], `${part} changed pixel ${i} outside its footprint`).toBe(1);
            changed++;
          }
        }
        expect(changed, part).toBeGreaterThan(3);
      }
    }
  });

  it('different parts have (mostly) disjoint masks', () => {
    const none = Object.fromEntries(BIRD_PARTS.map((p) => [p, false])) as BirdTraits;
    const masks = BIRD_PARTS.map((part) => renderBirdTraits(none, 99, { maskPart: part }).partMask);
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) {
        let overlap = 0;
        let smaller = Infinity;
        for (let k = 0; k < masks[i]!.length; k++) overlap += masks[i]![k]! & masks[j]![k]!;
        smaller = Math.min(
          masks[i]!.reduce((s, v) => s + v, 0),
          masks[j]!.reduce((s, v) => s + v, 0),
        );
        expect(overlap / smaller, `${BIRD_PARTS[i]} / ${BIRD_PARTS[j]}`).toBeLessThan(0.25);
      }
    }
  });

  it('images look like scenes, not flat colour (sanity)', () => {
    const { image } = renderBird(4, 5);
    const values = new Set<number>();
    for (let i = 0; i < image.data.length; i += 3) values.add((image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!);
    expect(values.size).toBeGreaterThan(500);
  });

  it('validates arguments', () => {
    expect(() => renderBird(12, 0)).toThrow(/classId/);
    expect(() => renderBird(-1, 0)).toThrow(/classId/);
    expect(() => renderBird(1.5, 0)).toThrow(/classId/);
    expect(() => renderBird(0, 0.5)).toThrow(/seed/);
    expect(() => renderBird(0, 0, { size: 4 })).toThrow(/size/);
  });

  it('renders a 64x64 image in well under a millisecond on average', () => {
    for (let i = 0; i < 200; i++) renderBird(i % 12, i);
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) renderBird(i % 12, 1000 + i);
    const ms = (performance.now() - t0) / n;
    // typically ~0.5 ms; the bound is loose so that a busy machine does not fail it
    expect(ms).toBeLessThan(3);
  });
});

describe('makeDataset', () => {
  it('interleaves classes and reproduces each sample from its seed', () => {
    const ds = makeDataset({ classes: [2, 3, 9], perClass: 4, seed: 11, size: 32 });
    expect(ds.images.length).toBe(12);
    expect(ds.labels).toEqual([2, 3, 9, 2, 3, 9, 2, 3, 9, 2, 3, 9]);
    expect(ds.masks.length).toBe(12);
    expect(ds.classNames).toBe(BIRD_CLASS_NAMES);
    ds.images.forEach((img, i) => {
      expect(img.width).toBe(32);
      expect(ds.seeds[i]).toBe(sampleSeed(11, ds.labels[i]!, Math.floor(i / 3)));
      const r = renderBird(ds.labels[i]!, ds.seeds[i]!, { size: 32 });
      expect(r.image.data).toEqual(img.data);
      expect(r.partMask).toEqual(ds.masks[i]);
    });
    expect(new Set(ds.seeds).size).toBe(12);
  });

  it('defaults to all classes, accepts a class count, and is deterministic', () => {
    const a = makeDataset({ perClass: 1 });
    expect(a.labels).toEqual(BIRD_CLASSES.map((c) => c.id));
    expect(makeDataset({ classes: 4, perClass: 2 }).labels).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    const b = makeDataset({ perClass: 1 });
    expect(b.images.map((i) => sha(i.data))).toEqual(a.images.map((i) => sha(i.data)));
    expect(makeDataset({ perClass: 1, seed: 1 }).images[0]!.data).not.toEqual(a.images[0]!.data);
    expect(makeDataset({ perClass: 0 }).images).toEqual([]);
    expect(() => makeDataset({ classes: [0, 12], perClass: 1 })).toThrow(/classId/);
    expect(() => makeDataset({ perClass: -1 })).toThrow(/perClass/);
  });
});

describe('rng', () => {
  it('mulberry32 is deterministic, in [0, 1) and roughly uniform', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = a();
      expect(b()).toBe(x);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.02);
    // reference value of mulberry32(0) (first output * 2^32)
    expect(mulberry32(0)() * 2 ** 32).toBe(1144304738);
    expect(hashInts(1, 2)).not.toBe(hashInts(2, 1));
  });
});
