// Fused bias + activation epilogue for the heavy kernels (register-blocked matmul, implicit-GEMM conv; the
// im2col conv and 1×1 conv reach it through matmul): out = act(acc + Bias[i]) at the write-out, while the
// accumulators are still in registers. Fusing saves a full read + write pass over the output — the separate
// broadcast-add and activation dispatches of the unfused composition. The formulas are those of the unary
// kernels in elementwise.ts ('relu' keeps NaN, 'gelu' is x·Φ(x) with the shared phi_ helper), so the
// fused result matches the composition.
//
// A kernel with a bias binds it as one more read-only input, `Bias: array<f32>`, after its operands; the
// element index of each output's bias is computed by the kernel from uniforms (offset + strides), so any
// 1-D bias view works. The epilogue kind is part of every pipeline cache key (epilogueKey).
import type { Epilogue, EpilogueActivation, View } from '../../core/backend';
import { mathHelpers } from './math-wgsl';
import { wgslType } from './strided';

/** What a kernel variant is compiled for. */
export interface EpilogueKind {
  bias: boolean;
  act: EpilogueActivation;
}

export const NO_EPILOGUE: EpilogueKind = { bias: false, act: 'none' };

/** Validated epilogue: its kind and the bias view (null without bias). */
export interface GpuEpilogue {
  kind: EpilogueKind;
  bias: View | null;
}

export function prepareEpilogue(op: string, e: Epilogue | undefined, channels: number): GpuEpilogue {
  const bias = e?.bias ?? null;
  const act = e?.activation ?? 'none';
  if (act !== 'none' && act !== 'relu' && act !== 'gelu') throw new Error(`WebGPU backend: ${op}: unknown epilogue activation ${String(act)}`);
  if (bias) {
    if (bias.shape.length !== 1 || bias.shape[0] !== channels) {
      throw new Error(`WebGPU backend: ${op}: epilogue bias must be 1-D with ${channels} elements, got [${bias.shape.join(', ')}]`);
    }
    if (wgslType(bias.dtype, op) !== 'f32') throw new TypeError(`WebGPU backend: ${op} supports float32 only`);
  }
  return { kind: { bias: bias !== null, act }, bias };
}

export function hasEpilogue(k: EpilogueKind): boolean {
  return k.bias || k.act !== 'none';
}

/** Pipeline cache key fragment: '' for the plain kernel. */
export function epilogueKey(k: EpilogueKind): string {
  return hasEpilogue(k) ? `|epi${k.bias ? '+bias' : ''}+${k.act}` : '';
}

/**
 * WGSL helpers: `epi_(v, i)` = act(v + Bias[i]) (i ignored without bias) and `epi4_(v, i, di)` for a vec4
 * whose bias indices are i, i + di, i + 2·di, i + 3·di. Empty for the plain kernel.
 */
export function epilogueWgsl(k: EpilogueKind): string {
  if (!hasEpilogue(k)) return '';
  const act = k.act === 'relu' ? 'select(s, 0.0, s <= 0.0)' : k.act === 'gelu' ? 's * phi_(s)' : 's';
  return `${k.act === 'gelu' ? `${mathHelpers(['phi_'])}\n\n` : ''}// fused epilogue: act(v + bias), saving the separate add / activation passes over the output
fn epi_(v: f32, i: i32) -> f32 {
  let s = v${k.bias ? ' + Bias[u32(i)]' : ''};
  return ${act};
}
fn epi4_(v: vec4<f32>, i: i32, di: i32) -> vec4<f32> {
  return vec4<f32>(epi_(v.x, i), epi_(v.y, i + di), epi_(v.z, i + 2 * di), epi_(v.w, i + 3 * di));
}`;
}
