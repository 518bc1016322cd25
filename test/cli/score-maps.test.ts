// scoreMaps (cli/demo/score-maps.ts), the one scoring loop of the three demo evaluations: hand-made maps and
// masks with answers worked out by hand, and RD on a model whose logits are written down.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import { ScoreLog, scoreMaps } from '../../cli/demo/score-maps';

const S = 8;

// z0 = the sum of channel 0 over the image, z1 = 0: with every input value v, masking k pixels lowers z0 by k·v
function sumModel(x: F.Tensor): F.Tensor {
  const B = x.shape[0];
  const w = new Float32Array(3 * S * S * 2);
  for (let i = 0; i < S * S; i++) w[i * 2] = 1; // channel-0 pixels feed logit 0
  return F.matmul(F.reshape(x, [B, 3 * S * S]), F.tensor(w, [3 * S * S, 2]));
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('scoreMaps', () => {
  it('scores part share, pointing and empty maps as worked out by hand', async () => {
    const mask = new Uint8Array(S * S);
    mask[3 * S + 3] = 1; // the part: pixel (x 3, y 3)
    const maps = new Float32Array(3 * S * S);
    maps[S * S + 3 * S + 2] = 1; // map 1: one hot pixel at (2, 3), one pixel from the part
    for (let i = 0; i < S * S; i++) maps[2 * S * S + i] = i === 0 ? 2 : 1; // map 2: peak at (0, 0), far from it
    const x = F.full([3, 3, S, S], 0.05);
    const sc = await scoreMaps(F.tensor(maps, [3, S, S]), { model: sumModel, x, size: S, masks: [mask, mask, mask], main: [0, 0, 0], refs: [[1], [1], [1]], percent: 5 });
    expect(sc.tolerance).toBe(1); // half a cell of an 8×8 grid on an 8-px image, rounded
    expect(sc.empty).toBe(1); // map 0 is zero everywhere
    expect(sc.partShare).toEqual([0, 0, 1 / 65]);
    expect(sc.pointing).toEqual([0, 1, 0]);
    // 5% of 64 px = round(3.2) = 3 masked pixels; z0 = 64·0.05 = 3.2 → 3.05; RD = Δp0 − Δp1 = 2·Δp0
    expect(sc.maskedPixels).toBe(3);
    const drop = sigmoid(3.2) - sigmoid(3.05);
    for (let j = 0; j < 3; j++) {
      expect(sc.mainDrop[j]).toBeCloseTo(drop, 6);
      expect(sc.refDrop[j]).toBeCloseTo(-drop, 6);
      expect(sc.rd[j]).toBeCloseTo(2 * drop, 6);
    }
  });

  it('resizes a grid map to the image first: a constant 4×4 map puts the part area on the part', async () => {
    const mask = new Uint8Array(S * S);
    for (const i of [0, 1, 8, 9, 10]) mask[i] = 1;
    const sc = await scoreMaps(F.full([1, 4, 4], 0.5), { model: sumModel, x: F.full([1, 3, S, S], 0.05), size: S, masks: [mask], main: [0], refs: [[1]], percent: 5 });
    expect(sc.tolerance).toBe(1); // round(8 / 4 / 2)
    expect(sc.partShare[0]).toBeCloseTo(5 / 64, 12);
    expect(sc.pointing).toEqual([1]); // a constant map peaks at its first pixel, which is on the part
  });

  it('ScoreLog keeps every image of every batch in order', async () => {
    const mask = new Uint8Array(S * S);
    mask[0] = 1;
    const one = new Float32Array(S * S);
    one[0] = 1; // all mass on the part
    const log = new ScoreLog();
    const opts = { model: sumModel, size: S, masks: [mask], main: [0], refs: [[1]], percent: 5 };
    log.add(await scoreMaps(F.tensor(one, [1, S, S]), { ...opts, x: F.full([1, 3, S, S], 0.05) }));
    log.add(await scoreMaps(F.zeros([1, S, S]), { ...opts, x: F.full([1, 3, S, S], 0.05) }));
    expect(log.partShare).toEqual([1, 0]);
    expect(log.pointing).toEqual([1, 0]);
    expect(log.empty).toBe(1);
    expect(log.rd).toHaveLength(2);
    expect([log.maskedPixels, log.tolerance]).toEqual([3, 1]);
  });

  it('rejects maps that do not match the masks', async () => {
    await expect(scoreMaps(F.zeros([2, 4, 4]), { model: sumModel, x: F.zeros([1, 3, S, S]), size: S, masks: [new Uint8Array(S * S)], main: [0], refs: [[1]], percent: 5 })).rejects.toThrow(/scoreMaps: cams \[B, h, w\] must have one map per mask/);
  });
});
