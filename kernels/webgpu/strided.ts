// Strided views on the GPU: host-side dimension collapsing and the WGSL that turns a row-major element index
// into a storage offset.
//
// Every kernel input is a view (shape, strides — possibly 0 or negative — and an element offset). Before a
// dispatch the shapes are simplified: size-1 axes are dropped and neighbouring axes merged wherever every
// operand walks them as one (stride[d] == stride[d+1]·shape[d+1]). A contiguous tensor thus becomes rank 1
// with stride 1 and is read directly — as vec4 when its offset is a multiple of 4 — and only genuinely
// strided operands pay for the index arithmetic (one div/mod per remaining axis). The collapsed rank and each
// operand's access mode are part of the pipeline key; the shape, strides and offsets are uniforms.
import type { View } from '../../core/backend';
import type { DType } from '../../core/dtype';
import { MAX_RANK, vecAt } from './runtime/uniforms';

/** How a kernel reads an operand: vec4 loads, scalar contiguous loads, strided loads, or one broadcast value. */
export type AccessMode = 'vec4' | 'contig' | 'strided' | 'bcast';

export interface Collapsed {
  shape: number[];
  /** One stride list per operand, same length as shape. */
  strides: number[][];
}

/** Drops size-1 axes and merges axes every operand traverses contiguously. */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): Collapsed {
  const keep: number[] = [];
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) keep.push(d);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const d of keep) {
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** The access mode of one operand after collapsing. */
export function accessMode(shape: readonly number[], strides: readonly number[], offset: number): AccessMode {
  if (shape.length === 0) return offset % 4 === 0 ? 'vec4' : 'contig';
  if (strides.every((s) => s === 0)) return 'bcast';
  if (shape.length === 1 && strides[0] === 1) return offset % 4 === 0 ? 'vec4' : 'contig';
  return 'strided';
}

export function checkRank(rank: number, op: string): void {
  if (rank > MAX_RANK) {
    throw new RangeError(`WebGPU backend: ${op} on a view that stays rank ${rank} after merging axes (max ${MAX_RANK}); make it contiguous first`);
  }
}

export function wgslType(dtype: DType, op: string): 'f32' | 'i32' {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  throw new TypeError(`WebGPU backend: ${op} does not support ${dtype} (the GPU has no float64); run float64 work on the CPU backend`);
}

/**
 * WGSL statements computing `<out> = off + Σ coord_d·stride_d` for row-major element index `idx` of a view
 * whose (collapsed) shape is the uniform vector `shapeField` and strides `strideField`; the result is i32.
 */
export function offsetCode(out: string, idx: string, rank: number, shapeField: string, strideField: string, offField: string): string {
  if (rank === 0) return `let ${out} = u.${offField};`;
  const lines = [`var ${out} = u.${offField};`, `{ var r_ = ${idx};`];
  for (let d = rank - 1; d >= 1; d--) {
    const s = vecAt(shapeField, d);
    lines.push(`  ${out} += i32(r_ % ${s}) * ${vecAt(strideField, d)}; r_ = r_ / ${s};`);
  }
  lines.push(`  ${out} += i32(r_) * ${vecAt(strideField, 0)}; }`);
  return lines.join('\n');
}
