// The kernel workbench (bench/workbench/) as its users run it: a correct variant is checked and timed, a
// planted wrong one is refused with its failing case, and bad invocations are usage errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { cpuBackend } from '../../kernels/cpu/index';
import { runWorkbench } from '../../bench/workbench/workbench';
import { main } from '../../cli/main';
import { describeGpu, useGpuTeardown } from '../webgpu/setup';

useGpuTeardown();
const ROOT = resolve(__dirname, '../..');

async function bench(file: string, extra: Partial<Parameters<typeof runWorkbench>[0]> = {}): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runWorkbench({ file, cpu: cpuBackend, quick: true, noPeer: true, runs: 8, reps: 1, log: (l) => lines.push(l), ...extra });
  return { code, out: lines.join('\n') };
}

describeGpu('kernel workbench', () => {
  it('refuses to time a planted wrong kernel and prints the smallest failing case', async () => {
    // the tiled example with one planted bug: the last term of every dot product is dropped (k < K − 1)
    const source = readFileSync(join(ROOT, 'bench/variants/matmul-workgroup-tiled.ts'), 'utf8');
    const correct = 'for (var k = 0u; k < TILE; k++) { acc = fma(As[lid.y][k], Bs[k][lid.x], acc); }';
    expect(source).toContain(correct);
    const planted = source
      .replace(correct, 'for (var k = 0u; k < TILE; k++) { if (k0 + k + 1u < u.K) { acc = fma(As[lid.y][k], Bs[k][lid.x], acc); } }')
      .replace("'example_matmul_wg16'", "'planted_wrong_matmul'")
      .replace("from '../../kernels/webgpu/index'", `from ${JSON.stringify(join(ROOT, 'kernels/webgpu/index'))}`);
    const dir = mkdtempSync(join(tmpdir(), 'finercam-wrong-'));
    const file = join(dir, 'wrong-matmul.ts');
    writeFileSync(file, planted);
    let r: Awaited<ReturnType<typeof bench>>;
    try {
      r = await bench(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/REFUSED: the variant disagrees with the CPU backend/);
    // the case names the op, its operand shapes and the first bad element with both values
    expect(r.out).toMatch(/matmul \[\d+×\d+×\d+\]/);
    expect(r.out).toMatch(/output 0, element \d+: got -?[\d.e-]+, expected -?[\d.e-]+ \(CPU backend\)/);
    expect(r.out).not.toMatch(/\| variant /);
  }, 300_000);

  it('checks and times the workgroup-memory tiled example beside the built-in kernel', async () => {
    // a small timing problem: SwiftShader runs barriers as coroutine switches, 512³ would take a minute
    const r = await bench(join(ROOT, 'bench/variants/matmul-workgroup-tiled.ts'), { problem: { op: 'matmul', operands: [{ shape: [1, 96, 80] }, { shape: [1, 80, 72] }], args: {} } });
    expect(r.out).toMatch(/check: 8 random problems agree with the CPU backend/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/adapter FMA ceiling: [\d.]+ GFLOP\/s/);
    expect(r.out).toMatch(/\| built-in \| [\d.]+ \| [\d.]+ \| [\d.]+% \|/);
    expect(r.out).toMatch(/\| variant workgroup-tiled-16 \| [\d.]+ \| [\d.]+ \| [\d.]+% \| [\d.]+× the built-in's speed \|/);
  }, 300_000);

  it('checks the softmax example (a row op) the same way', async () => {
    const r = await bench(join(ROOT, 'bench/variants/softmax-row-per-invocation.ts'), { problem: { op: 'softmax', operands: [{ shape: [64, 100] }], args: { log: true } } });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| variant row-per-invocation \|/);
  }, 300_000);
});

it('bench-kernel usage errors exit 2 before touching the GPU', async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(String(m));
  try {
    expect(await main(['bench-kernel'])).toBe(2);
    expect(await main(['bench-kernel', join(ROOT, 'no-such-variant.ts')])).toBe(2);
    expect(await main(['bench-kernel', join(ROOT, 'README.md')])).toBe(2);
    expect(await main(['bench-kernel', join(ROOT, 'bench/variants/matmul-workgroup-tiled.ts'), '--runs', '0'])).toBe(2);
  } finally {
    console.error = orig;
  }
  expect(errors[0]).toMatch(/expected one variant module/);
  expect(errors[1]).toMatch(/does not exist/);
  expect(errors[2]).toMatch(/expected a \.ts, \.js or \.mjs module/);
  expect(errors[3]).toMatch(/--runs must be an integer in 1\.\.1000/);
});
