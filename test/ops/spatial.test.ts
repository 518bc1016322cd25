// conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d and interpolate against PyTorch (float32, CPU backend):
// outputs, max-pool indices, and the gradients of Σ y·gy w.r.t. every input for a seeded random gy.
// Fixture: test/fixtures/ops/spatial.json, written by test/reference/ops_spatial.py (see its docstring for
// the interpolate cases whose reference gradient is built from torch's forward).
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { expectClose } from '../helpers/compare';
import { decodeNumbers, loadFixture, type EncodedNumber } from '../helpers/fixtures';
import { TOL, type Tol } from '../tolerances';

interface Encoded {
  shape: number[];
  data: EncodedNumber[];
}

interface Case {
  op: 'conv2d' | 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d' | 'interpolate';
  name: string;
  inputs: Record<string, Encoded>;
  // Options are stored in our API's spelling, so they go straight to the op.
  options: Record<string, unknown>;
  output: Encoded;
  gradOutput: Encoded;
  grads: Record<string, Encoded>;
  indices?: Encoded;
  gradReference?: 'forward-jacobian';
}

const fixture = loadFixture<{ cases: Case[] }>('ops/spatial.json');

const TOLS: Record<Case['op'], { y: Tol; grad: Tol }> = {
  conv2d: { y: TOL.spatialConv, grad: TOL.spatialConv },
  maxPool2d: { y: TOL.exact, grad: TOL.spatialPool },
  avgPool2d: { y: TOL.spatialPool, grad: TOL.spatialPool },
  adaptiveAvgPool2d: { y: TOL.spatialPool, grad: TOL.spatialPool },
  interpolate: { y: TOL.spatialInterp, grad: TOL.spatialInterp },
};

/** The float32 values the fixture's shortest decimals stand for. */
const f32 = (e: Encoded): Float32Array => Float32Array.from(decodeNumbers(e.data));

function run(c: Case, ins: Record<string, Tensor>): { y: Tensor; indices?: Tensor } {
  const o = c.options as never;
  switch (c.op) {
    case 'conv2d': return { y: F.conv2d(ins.x, ins.weight, ins.bias ?? null, o) };
    case 'maxPool2d': {
      const { values, indices } = F.maxPool2d(ins.x, { ...(o as F.MaxPool2dOptions), returnIndices: true });
      return { y: values, indices };
    }
    case 'avgPool2d': return { y: F.avgPool2d(ins.x, o) };
    case 'adaptiveAvgPool2d': return { y: F.adaptiveAvgPool2d(ins.x, (c.options as { outputSize: number | (number | null)[] }).outputSize) };
    case 'interpolate': return { y: F.interpolate(ins.x, o) };
  }
}

describe('spatial ops match PyTorch (float32)', () => {
  it('the fixture covers every op', () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(['adaptiveAvgPool2d', 'avgPool2d', 'conv2d', 'interpolate', 'maxPool2d']);
    expect(fixture.cases.length).toBeGreaterThan(100);
  });

  for (const c of fixture.cases) {
    it(`${c.op}: ${c.name}`, async () => {
      const names = Object.keys(c.inputs);
      const ins: Record<string, Tensor> = {};
      for (const n of names) ins[n] = F.tensor(f32(c.inputs[n]), c.inputs[n].shape, { requiresGrad: true });
      const { y, indices } = run(c, ins);
      expect(y.shape).toEqual(c.output.shape);
      expect(y.dtype).toBe('float32');
      expectClose(await y.data(), f32(c.output), TOLS[c.op].y, 'output');
      if (c.indices) {
        expect(indices!.shape).toEqual(c.indices.shape);
        expect(Array.from(await indices!.data())).toEqual(c.indices.data);
      }
      const gy = F.tensor(f32(c.gradOutput), c.gradOutput.shape);
      const grads = F.grad(y, names.map((n) => ins[n]), { gradOutputs: [gy] });
      for (let i = 0; i < names.length; i++) {
        expect(grads[i]!.shape).toEqual(c.inputs[names[i]].shape);
        expectClose(await grads[i]!.data(), f32(c.grads[names[i]]), TOLS[c.op].grad, `gradient of ${names[i]}`);
      }
    });
  }
});
