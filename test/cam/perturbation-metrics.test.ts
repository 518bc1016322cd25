// The perturbation-confidence family against pytorch-grad-cam itself (DropInConfidence, IncreaseInConfidence,
// CamMultImageConfidenceChange with vector targets, RemoveMost/LeastRelevantFirst at percentiles and 'auto',
// AveragerAcrossThresholds, ROAD averages and ROADCombined with the noise set to 0) on resnet18_small
// (test/reference/make_cam_extras_fixtures.py → test/fixtures/cam-extras/metrics.json), on CPU and WebGPU.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../../index';
import { TOL, type Tol } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { EXTRAS } from '../helpers/seg-fixtures';
import { FIX } from '../helpers/cam-cases';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

type Fx = Record<string, number[]> & { classes: number[]; camShape: [number, number, number] };
const fx = loadFixture<Fx>('cam-extras/metrics.json');

async function setup(device: 'cpu' | 'webgpu' | 'wasm') {
  const model = F.resnet({ block: 'basic', layers: [2, 2, 2, 2], widths: [4, 8, 16, 32], numClasses: 10 });
  model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', 'resnet18_small', 'weights.safetensors')))));
  const g = await F.loadSafetensors(new Uint8Array(readFileSync(join(EXTRAS, 'guided.safetensors'))));
  model.eval();
  if (device !== 'cpu') await model.to(device);
  return { model, x: await g.input_all.toDevice(device), cams: await F.tensor(Float32Array.from(fx.cams), fx.camShape).toDevice(device) };
}

async function checkAll(device: 'cpu' | 'webgpu' | 'wasm', tol: Tol, rawTol: Tol): Promise<void> {
  const { model, x, cams } = await setup(device);
  const cls = fx.classes;
  const logit = [new F.ClassifierOutputTarget(3), new F.ClassifierOutputTarget(7)];
  expectClose(await F.dropInConfidence(model, x, cams, cls), fx.drop_softmax, tol, 'drop softmax');
  expect(await F.increaseInConfidence(model, x, cams, cls)).toEqual(fx.increase_softmax);
  expectClose(await F.dropInConfidence(model, x, cams, logit), fx.drop_logit, rawTol, 'drop logit');
  expect(await F.increaseInConfidence(model, x, cams, logit)).toEqual(fx.increase_logit);
  const soft = await F.perturbationConfidence(model, x, cams, [new F.SoftmaxOutputTarget(), new F.SoftmaxOutputTarget()], F.multiplyTensorWithCam);
  expectClose(soft.scores.flat(), fx.cam_mult_softmax_output, tol, 'softmax vector');
  const raw = await F.perturbationConfidence(model, x, cams, [new F.RawScoresOutputTarget(), new F.RawScoresOutputTarget()], F.multiplyTensorWithCam);
  expectClose(raw.scores.flat(), fx.cam_mult_raw_scores, rawTol, 'raw score vector');
  for (const p of [30, 75, 'auto'] as const) {
    expectClose(await F.perturbationMetric(F.removeMostRelevantFirst(p, F.multiplyImputer))(model, x, cams, cls), fx[`morf_mult_${p}`], tol, `MoRF ${p}`);
    expectClose(await F.perturbationMetric(F.removeLeastRelevantFirst(p, F.multiplyImputer))(model, x, cams, cls), fx[`lerf_mult_${p}`], tol, `LeRF ${p}`);
  }
  const nodiff = await F.perturbationConfidence(model, x, cams, cls, F.removeMostRelevantFirst(75, F.multiplyImputer), { returnDiff: false, returnVisualization: true });
  expectClose(nodiff.scores.flat(), fx.morf_mult_75_nodiff, tol, 'MoRF 75 without diff');
  expect(nodiff.perturbed!.shape).toEqual(x.shape);
  const percentiles = fx.road_percentiles;
  expectClose(await F.roadMostRelevantFirstAverage(model, x, cams, cls, { percentiles, noise: 0 }), fx.road_morf_avg, tol, 'ROAD MoRF average');
  expectClose(await F.roadLeastRelevantFirstAverage(model, x, cams, cls, { percentiles, noise: 0 }), fx.road_lerf_avg, tol, 'ROAD LeRF average');
  expectClose(await F.roadCombined(model, x, cams, cls, { percentiles, noise: 0 }), fx.road_combined, tol, 'ROADCombined');
  const avg = F.averageAcrossThresholds((p) => F.perturbationMetric(F.removeMostRelevantFirst(p, F.multiplyImputer)), percentiles);
  expectClose(await avg(model, x, cams, cls), fx.averager_morf_mult, tol, 'AveragerAcrossThresholds');
  // ROAD's imputer as an Imputer gives what road() gives at one percentile
  const one = await F.perturbationMetric(F.removeMostRelevantFirst(50, F.noisyLinearImputer({ noise: 0 })))(model, x, cams, cls);
  expectClose(one, await F.roadMostRelevantFirst(model, x, cams, cls, { percentile: 50, noise: 0 }), tol, 'noisyLinearImputer vs road');
}

describe('perturbation metrics (CPU)', () => {
  test('every member matches pytorch-grad-cam', async () => {
    await checkAll('cpu', TOL.camMetricModel, TOL.model);
  });
  test('Otsu threshold as OpenCV: a two-level image splits between its levels', () => {
    expect(F.otsuThreshold([10, 10, 10, 200, 200])).toBe(10);
    expect(F.otsuThreshold([7, 7, 7])).toBe(0);
  });
  test('bad input: named errors', async () => {
    const { model, x, cams } = await setup('cpu');
    expect(() => F.removeMostRelevantFirst(101, F.multiplyImputer)).toThrow(/removeMostRelevantFirst: percentile must be a number in \[0, 100\] or 'auto', got 101/);
    expect(() => F.removeLeastRelevantFirst(50, 3 as unknown as F.Imputer)).toThrow(/removeLeastRelevantFirst: imputer must be a function/);
    await expect(F.dropInConfidence(model, x, cams, [new F.SoftmaxOutputTarget(), 1])).rejects.toThrow(/dropInConfidence: target 0 returns 10 values; this metric needs one score per sample/);
    await expect(F.perturbationConfidence(model, x, cams, [1, 2], () => F.zeros([3, 2, 2]))).rejects.toThrow(/perturbation must return a tensor shaped like the image \[3, 32, 24\], got \[3, 2, 2\]/);
    await expect(F.dropInConfidence(model, x, F.zeros([2, 3, 3]), [1, 2])).rejects.toThrow(/cams must be an N×H×W Tensor matching the input \(2×32×24\)/);
    await expect(F.increaseInConfidence(model, x, cams, [1])).rejects.toThrow(/got 1 targets for a batch of 2/);
  });
});

describe('perturbation metrics (wasm)', () => {
  test('every member on the wasm backend', async () => {
    await checkAll('wasm', TOL.camMetricWebgpu, TOL.camMetricWebgpuRaw);
  });
});

describeGpu('perturbation metrics (WebGPU)', () => {
  test('every member on the WebGPU backend', async () => {
    await checkAll('webgpu', TOL.camMetricWebgpu, TOL.camMetricWebgpuRaw);
  });
});
