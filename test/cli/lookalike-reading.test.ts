// The paragraph printed under the look-alike demo's table (cli/demo/evaluate-lookalike.ts readLookalike):
// each Finer mode's paired differences said as higher / lower / within the noise (± 2 standard errors), and
// the one-sentence summary that follows from them.
import { describe, expect, it } from 'vitest';
import { readLookalike, type Cells, type LookalikeEvalResult, type LookalikeRow } from '../../cli/demo/evaluate-lookalike';

function cells(share: [number, number, number], rd: [number, number, number], point: [number, number, number]): Cells {
  const c = ([mean, d, se]: [number, number, number]) => ({ mean, diff: { mean: d, se } });
  return { partShare: c(share), rd: c(rd), pointing: c(point), mainDrop: c([0, 0, 0]), refDrop: c([0, 0, 0]) };
}

function result(finer: Cells): LookalikeEvalResult {
  const base = cells([0.041, 0, 0], [0.4, 0, 0], [0.31, 0, 0]);
  const row = (mode: string, label: string, all: Cells): LookalikeRow => ({ mode, label, all, lookalike: all, other: all, emptyMaps: 0 });
  return {
    split: 'test', n: 480, accuracy: 0.944, lookalikeRate: 0.927, nLookalike: 445, targetLayer: 'x', chosenLayer: 'x', grid: 12, percent: 5, maskedPixels: 461,
    partArea: 0.007, pointTolerance: 4, pairs: [], strips: [], seconds: 1,
    rows: [row('baseline', 'Baseline', base), row('finer-default', 'Finer-Default', finer), row('finer-compare', 'Finer-Compare', finer), row('oracle', 'Oracle', finer)],
  };
}

describe('readLookalike', () => {
  it('says each difference with its sign or as noise, and sums up', () => {
    // part share +0.5 ± 0.7 points: noise; RD −0.058 ± 0.024: lower; pointing −1.3 ± 3.0 points: noise
    const t = readLookalike(result(cells([0.046, 0.005, 0.0035], [0.35, -0.058, 0.012], [0.3, -0.013, 0.015])));
    expect(t).toContain('for 93% of them the class it finds most similar (closest logit) is the real look-alike, so');
    expect(t).toContain('puts 4.1% of its map on the one small part');
    expect(t).toContain('Finer-Compare (subtract the logit-nearest class): part share +0.5 ± 0.7 points (within the noise), RD -0.058 ± 0.024 (lower), pointing -1.3 ± 3.0 points (within the noise);');
    expect(t).toContain('So here no Finer mode puts its map on the distinguishing part more than plain Grad-CAM does, beyond the noise.');
  });

  it('says when the map moves onto the part, and when off it', () => {
    const on = readLookalike(result(cells([0.08, 0.04, 0.005], [0.5, 0.1, 0.01], [0.5, 0.2, 0.02])));
    expect(on).toContain('part share +4.0 ± 1.0 points (higher)');
    expect(on).toContain('So here Finer-CAM moves the map onto the part that tells the look-alikes apart (Finer-Default, Finer-Compare, Oracle).');
    const off = readLookalike(result(cells([0.01, -0.03, 0.005], [0.3, -0.1, 0.01], [0.1, -0.2, 0.02])));
    expect(off).toContain('So here Finer-CAM moves the map off the distinguishing part');
  });
});
