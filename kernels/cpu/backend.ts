// The CPU reference backend: plain TypeScript loops over typed arrays. Every other backend is tested
// against it, so clarity wins over speed — except in gemm/conv, where a blocked loop costs nothing to read.
import type { Backend, BinaryOp, Conv2dParams, Epilogue, Pool2dParams, ReduceOp, Storage, UnaryOp, View } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { contiguousStrides, numel } from '../../core/shape';
import { CpuStorage } from './storage';
import { contiguousData, dataOf, forEachOffset } from './strided';
import { binaryFns, isComparison, unaryFns, unaryFns64 } from './elementwise';
import { gemm } from './gemm';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv';
import { applyEpilogue, prepareEpilogue } from './epilogue';
import { argReduceRows, reduceRows } from '../../core/scalar-loops';
import { maxPool2dBackward, maxPool2dForward } from './pool';

function store(data: TypedArray, dtype: DType): CpuStorage {
  return new CpuStorage(cpuBackend, data, dtype);
}

function compareDType(dtype: DType): DType {
  return dtype === 'float64' ? 'float64' : 'float32';
}

/** Moves the listed axes to the end (kept axes keep their order) and returns the contiguous data. */
function axesLast(x: View, axes: readonly number[]): { data: TypedArray; outer: number; inner: number } {
  const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keptAxes, ...axes];
  const shape = perm.map((i) => x.shape[i]);
  const strides = perm.map((i) => x.strides[i]);
  const data = contiguousData({ storage: x.storage, shape, strides, offset: x.offset, dtype: x.dtype });
  const inner = numel(axes.map((i) => x.shape[i]));
  return { data, outer: inner === 0 ? numel(keptAxes.map((i) => x.shape[i])) : data.length / inner, inner };
}

export const cpuBackend: Backend = {
  name: 'cpu',

  full(size: number, dtype: DType, value: number): Storage {
    const a = arrayFor(dtype, size);
    if (value !== 0) a.fill(value);
    return store(a, dtype);
  },

  upload(data: TypedArray): Storage {
    const dtype: DType = data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int32';
    return store(data.slice(), dtype);
  },

  async read(view: View): Promise<TypedArray> {
    return contiguousData(view).slice();
  },

  readSync(view: View): TypedArray {
    return contiguousData(view);
  },

  release(): void {
    // Typed arrays are garbage collected.
  },

  copyInto(src: View, dst: View): void {
    const s = contiguousData(src);
    const d = dataOf(dst);
    forEachOffset(dst.shape, dst.strides, dst.offset, (off, i) => {
      d[off] = s[i];
    });
  },

  cast(x: View, dtype: DType): Storage {
    const src = contiguousData(x);
    const out = arrayFor(dtype, src.length);
    if (dtype === 'int32' && x.dtype !== 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
    else out.set(src);
    return store(out, dtype);
  },

  unary(op: UnaryOp, x: View): Storage {
    const src = contiguousData(x);
    const out = arrayFor(x.dtype, src.length);
    const f = (x.dtype === 'float64' && unaryFns64[op]) || unaryFns[op];
    for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
    return store(out, x.dtype);
  },

  binary(op: BinaryOp, a: View, b: View): Storage {
    const av = contiguousData(a);
    const bv = contiguousData(b);
    const dtype = isComparison(op) ? compareDType(a.dtype) : a.dtype;
    const out = arrayFor(dtype, av.length);
    switch (op) {
      case 'add': for (let i = 0; i < av.length; i++) out[i] = av[i] + bv[i]; break;
      case 'sub': for (let i = 0; i < av.length; i++) out[i] = av[i] - bv[i]; break;
      case 'mul': for (let i = 0; i < av.length; i++) out[i] = av[i] * bv[i]; break;
      case 'div': for (let i = 0; i < av.length; i++) out[i] = av[i] / bv[i]; break;
      default: {
        const f = binaryFns[op];
        for (let i = 0; i < av.length; i++) out[i] = f(av[i], bv[i]);
      }
    }
    return store(out, dtype);
  },

  binaryScalar(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean): Storage {
    const xv = contiguousData(x);
    const dtype = isComparison(op) ? compareDType(x.dtype) : x.dtype;
    const out = arrayFor(dtype, xv.length);
    const f = binaryFns[op];
    if (scalarFirst) for (let i = 0; i < xv.length; i++) out[i] = f(scalar, xv[i]);
    else if (op === 'mul') for (let i = 0; i < xv.length; i++) out[i] = xv[i] * scalar;
    else if (op === 'add') for (let i = 0; i < xv.length; i++) out[i] = xv[i] + scalar;
    else for (let i = 0; i < xv.length; i++) out[i] = f(xv[i], scalar);
    return store(out, dtype);
  },

  where(cond: View, a: View, b: View): Storage {
    const c = contiguousData(cond);
    const av = contiguousData(a);
    const bv = contiguousData(b);
    const out = arrayFor(a.dtype, c.length);
    for (let i = 0; i < c.length; i++) out[i] = c[i] !== 0 ? av[i] : bv[i];
    return store(out, a.dtype);
  },

  clamp(x: View, lo: number, hi: number): Storage {
    const src = contiguousData(x);
    const out = arrayFor(x.dtype, src.length);
    for (let i = 0; i < src.length; i++) {
      // min(max(v, lo), hi): when lo > hi every element becomes hi, as torch.clamp
      const v = src[i];
      const m = v < lo ? lo : v;
      out[i] = v !== v ? v : m > hi ? hi : m;
    }
    return store(out, x.dtype);
  },

  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const { data, outer, inner } = axesLast(x, axes);
    const out = arrayFor(x.dtype, outer);
    reduceRows(op, data, outer, inner, out);
    return store(out, x.dtype);
  },

  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage {
    const { data, outer, inner } = axesLast(x, [axis]);
    const out = new Int32Array(outer);
    argReduceRows(op, data, outer, inner, out);
    return store(out, 'int32');
  },

  matmul(a: View, b: View, epilogue?: Epilogue): Storage {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const epi = prepareEpilogue('matmul', epilogue, N, a.dtype);
    const out = arrayFor(a.dtype, B * M * N);
    // Batches that share an operand (stride 0) are read from the same contiguous copy.
    const aShared = a.strides[0] === 0;
    const bShared = b.strides[0] === 0;
    const av = contiguousData(aShared ? { ...viewFields(a), shape: [1, M, K], strides: [0, a.strides[1], a.strides[2]] } : a);
    const bv = contiguousData(bShared ? { ...viewFields(b), shape: [1, K, N], strides: [0, b.strides[1], b.strides[2]] } : b);
    for (let i = 0; i < B; i++) {
      gemm(M, N, K, av, aShared ? 0 : i * M * K, bv, bShared ? 0 : i * K * N, out, i * M * N);
      // fused bias (by column) + activation while this batch's block is in cache: saves a pass over the output
      if (epi) applyEpilogue(epi, out, i * M * N, M, N, 'col');
    }
    return store(out, a.dtype);
  },

  conv2d(x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): Storage {
    const epi = prepareEpilogue('conv2d', epilogue, w.shape[0], x.dtype);
    return store(conv2dForward(contiguousData(x), x.shape, contiguousData(w), w.shape, p, epi), x.dtype);
  },

  conv2dBackwardInput(gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): Storage {
    return store(conv2dBackwardInput(contiguousData(gy), gy.shape, contiguousData(w), w.shape, p, inputShape), gy.dtype);
  },

  conv2dBackwardWeight(x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): Storage {
    return store(conv2dBackwardWeight(contiguousData(x), x.shape, contiguousData(gy), gy.shape, p, weightShape), x.dtype);
  },

  maxPool2d(x: View, p: Pool2dParams): { values: Storage; indices: Storage } {
    const r = maxPool2dForward(contiguousData(x), x.shape, p);
    return { values: store(r.values, x.dtype), indices: store(r.indices, 'int32') };
  },

  maxPool2dBackward(gy: View, indices: View, inputShape: readonly number[]): Storage {
    return store(maxPool2dBackward(contiguousData(gy), gy.shape, contiguousData(indices) as Int32Array, inputShape), gy.dtype);
  },

  softmax(x: View, log: boolean): Storage {
    const src = contiguousData(x);
    const cols = x.shape[x.shape.length - 1];
    const rows = cols === 0 ? 0 : src.length / cols;
    const out = arrayFor(x.dtype, src.length);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let m = -Infinity;
      for (let c = 0; c < cols; c++) m = Math.max(m, src[base + c]);
      if (m === -Infinity) m = 0; // an all -inf row gives NaN through 0/0 as torch does
      let s = 0;
      for (let c = 0; c < cols; c++) s += Math.exp(src[base + c] - m);
      if (log) {
        const ls = Math.log(s);
        for (let c = 0; c < cols; c++) out[base + c] = src[base + c] - m - ls;
      } else {
        for (let c = 0; c < cols; c++) out[base + c] = Math.exp(src[base + c] - m) / s;
      }
    }
    return store(out, x.dtype);
  },

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number) {
    const src = contiguousData(x);
    const cols = x.shape[x.shape.length - 1];
    const rows = cols === 0 ? 0 : src.length / cols;
    const wv = weight ? contiguousData(weight) : null;
    const bv = bias ? contiguousData(bias) : null;
    const y = arrayFor(x.dtype, src.length);
    const mean = arrayFor(x.dtype, rows);
    const rstd = arrayFor(x.dtype, rows);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += src[base + c];
      const mu = s / cols;
      let v = 0;
      for (let c = 0; c < cols; c++) {
        const d = src[base + c] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / cols + eps); // biased variance, as torch.layer_norm
      mean[r] = mu;
      rstd[r] = rs;
      for (let c = 0; c < cols; c++) {
        let o = (src[base + c] - mu) * rs;
        if (wv) o *= wv[c];
        if (bv) o += bv[c];
        y[base + c] = o;
      }
    }
    return { y: store(y, x.dtype), mean: store(mean, x.dtype), rstd: store(rstd, x.dtype) };
  },

  gather(x: View, dim: number, index: View): Storage {
    const xs = dataOf(x);
    const idx = contiguousData(index);
    const out = arrayFor(x.dtype, idx.length);
    const shape = index.shape;
    const rank = shape.length;
    const pos = new Array<number>(rank).fill(0);
    for (let i = 0; i < idx.length; i++) {
      let off = x.offset;
      for (let d = 0; d < rank; d++) off += (d === dim ? idx[i] : pos[d]) * x.strides[d];
      out[i] = xs[off];
      for (let d = rank - 1; d >= 0; d--) {
        if (++pos[d] < shape[d]) break;
        pos[d] = 0;
      }
    }
    return store(out, x.dtype);
  },

  scatterAdd(shape: readonly number[], dim: number, index: View, src: View): Storage {
    const out = arrayFor(src.dtype, numel(shape));
    const idx = contiguousData(index);
    const sv = contiguousData(src);
    const outStrides = contiguousStrides(shape);
    const ishape = index.shape;
    const rank = ishape.length;
    const pos = new Array<number>(rank).fill(0);
    for (let i = 0; i < idx.length; i++) {
      let off = 0;
      for (let d = 0; d < rank; d++) off += (d === dim ? idx[i] : pos[d]) * outStrides[d];
      out[off] += sv[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++pos[d] < ishape[d]) break;
        pos[d] = 0;
      }
    }
    return store(out, src.dtype);
  },
};

function viewFields(v: View): View {
  return { storage: v.storage, shape: v.shape, strides: v.strides, offset: v.offset, dtype: v.dtype };
}
