// Fused matmul / conv2d epilogue on the CPU: out = act(out + bias), applied to each block right after the
// gemm that wrote it, while the block is still in cache. Fusing saves a full read + write pass over the
// output (the separate broadcast add and activation of the unfused composition). Each step rounds to the
// output dtype exactly as the unfused ops do (binary 'add', then unary 'relu' / 'gelu' with the same
// functions, float64 variants included), so the fused result equals the composition bit for bit.
import type { DType, TypedArray } from '../../core/dtype';
import type { Epilogue } from '../../core/backend';
import { unaryFns, unaryFns64 } from './elementwise';
import { contiguousData } from './strided';

/** The epilogue ready to apply to raw blocks: bias data (contiguous, or null) and the activation function. */
export interface CpuEpilogue {
  bias: TypedArray | null;
  act: ((x: number) => number) | null;
}

/** null when there is nothing to do. Checks that the bias has `channels` elements. */
export function prepareEpilogue(op: string, e: Epilogue | undefined, channels: number, dtype: DType): CpuEpilogue | null {
  const activation = e?.activation ?? 'none';
  const biasView = e?.bias ?? null;
  if (!biasView && activation === 'none') return null;
  if (biasView && (biasView.shape.length !== 1 || biasView.shape[0] !== channels || biasView.dtype !== dtype)) {
    throw new Error(`${op}: epilogue bias must be 1-D ${dtype} with ${channels} elements, got ${biasView.dtype} [${biasView.shape.join(', ')}]`);
  }
  let act: ((x: number) => number) | null = null;
  if (activation === 'relu' || activation === 'gelu') act = (dtype === 'float64' && unaryFns64[activation]) || unaryFns[activation];
  else if (activation !== 'none') throw new Error(`${op}: unknown epilogue activation ${String(activation)}`);
  return { bias: biasView ? contiguousData(biasView) : null, act };
}

/**
 * Applies the epilogue to the row-major [rows, cols] block at out[off..]. The bias is indexed by row
 * (biasOff + r, conv: rows are output channels) or by column (biasOff + c, matmul: columns are the last dim).
 */
export function applyEpilogue(e: CpuEpilogue, out: TypedArray, off: number, rows: number, cols: number, biasBy: 'row' | 'col', biasOff = 0): void {
  const { bias, act } = e;
  for (let r = 0; r < rows; r++) {
    const base = off + r * cols;
    if (bias) {
      if (biasBy === 'row') {
        const b = bias[biasOff + r];
        for (let c = 0; c < cols; c++) out[base + c] += b;
      } else {
        for (let c = 0; c < cols; c++) out[base + c] += bias[biasOff + c];
      }
    }
    if (act) for (let c = 0; c < cols; c++) out[base + c] = act(out[base + c]);
  }
}
