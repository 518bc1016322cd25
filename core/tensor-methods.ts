// Tensor methods where PyTorch has them (x.add(y), x.sum(dims, keepDim), x.backward(), ...). Each is a
// one-line forward to the functional op, attached to the prototype here so tensor.ts stays free of ops.
import { Tensor } from './tensor';
import type { DType } from './dtype';
import { getBackend, type DeviceName } from './device';
import { wrap } from './ops/util';
import { backward as runBackward } from './autograd';
import * as ew from './ops/elementwise';
import * as red from './ops/reduce';
import * as vw from './ops/views';
import * as mm from './ops/matmul';
import * as sm from './ops/softmax';
import * as ix from './ops/indexing';
import type { ValuesIndices, VarOptions } from './ops/reduce';

type Operand = Tensor | number;
type Dims = number | readonly number[] | null;

declare module './tensor' {
  interface Tensor {
    backward(gradOutput?: Tensor, opts?: { retainGraph?: boolean }): void;
    clone(): Tensor;
    contiguous(): Tensor;
    to(dtype: DType): Tensor;
    /** A copy on another device (reads the values, so it is asynchronous). */
    toDevice(device: DeviceName): Promise<Tensor>;
    float(): Tensor;
    int(): Tensor;
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(exponent: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    erf(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    maximum(other: Tensor): Tensor;
    minimum(other: Tensor): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    sum(dim?: Dims, keepDim?: boolean): Tensor;
    mean(dim?: Dims, keepDim?: boolean): Tensor;
    max(): Tensor;
    max(dim: number, keepDim?: boolean): ValuesIndices;
    min(): Tensor;
    min(dim: number, keepDim?: boolean): ValuesIndices;
    amax(dim?: Dims, keepDim?: boolean): Tensor;
    amin(dim?: Dims, keepDim?: boolean): Tensor;
    argmax(dim?: number | null, keepDim?: boolean): Tensor;
    argmin(dim?: number | null, keepDim?: boolean): Tensor;
    var(dim?: Dims, opts?: VarOptions): Tensor;
    std(dim?: Dims, opts?: VarOptions): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    view(...shape: number[] | [readonly number[]]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    permute(...dims: number[] | [readonly number[]]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** Transpose of a 2-D tensor (torch's .T / .t()). */
    t(): Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor;
    unsqueeze(dim: number): Tensor;
    squeeze(dim?: number | readonly number[]): Tensor;
    flip(dims: number | readonly number[]): Tensor;
    slice(dim: number, start?: number, end?: number | null, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
  }
}

function shapeArgs(args: (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

const P = Tensor.prototype;
P.backward = function (gradOutput?: Tensor, opts?: { retainGraph?: boolean }) {
  runBackward(this, gradOutput, opts);
};
P.clone = function () {
  this.assertAlive('clone()');
  const y = ew.mul(this, 1);
  return y;
};
P.contiguous = function () { return vw.contiguous(this); };
P.to = function (dtype: DType) { return ew.cast(this, dtype); };
P.toDevice = async function (device: DeviceName) {
  const b = await getBackend(device);
  if (!b) throw new Error(`toDevice: the '${device}' device is not available here`);
  if (b === this.backend) return vw.contiguous(this).detach();
  return wrap(b.upload(await this.data()), this.shape, this.dtype);
};
P.float = function () { return ew.cast(this, 'float32'); };
P.int = function () { return ew.cast(this, 'int32'); };
P.add = function (o) { return ew.add(this, o); };
P.sub = function (o) { return ew.sub(this, o); };
P.mul = function (o) { return ew.mul(this, o); };
P.div = function (o) { return ew.div(this, o); };
P.pow = function (o) { return ew.pow(this, o); };
P.neg = function () { return ew.neg(this); };
P.exp = function () { return ew.exp(this); };
P.log = function () { return ew.log(this); };
P.sqrt = function () { return ew.sqrt(this); };
P.rsqrt = function () { return ew.rsqrt(this); };
P.abs = function () { return ew.abs(this); };
P.sign = function () { return ew.sign(this); };
P.relu = function () { return ew.relu(this); };
P.sigmoid = function () { return ew.sigmoid(this); };
P.tanh = function () { return ew.tanh(this); };
P.erf = function () { return ew.erf(this); };
P.square = function () { return ew.square(this); };
P.reciprocal = function () { return ew.reciprocal(this); };
P.maximum = function (o) { return ew.maximum(this, o); };
P.minimum = function (o) { return ew.minimum(this, o); };
P.eq = function (o) { return ew.eq(this, o); };
P.ne = function (o) { return ew.ne(this, o); };
P.lt = function (o) { return ew.lt(this, o); };
P.le = function (o) { return ew.le(this, o); };
P.gt = function (o) { return ew.gt(this, o); };
P.ge = function (o) { return ew.ge(this, o); };
P.clamp = function (lo, hi) { return ew.clamp(this, lo, hi); };
P.sum = function (dim, keepDim) { return red.sum(this, dim, keepDim); };
P.mean = function (dim, keepDim) { return red.mean(this, dim, keepDim); };
P.max = function (this: Tensor, dim?: number, keepDim?: boolean) {
  return dim === undefined ? red.max(this) : red.max(this, dim, keepDim);
} as Tensor['max'];
P.min = function (this: Tensor, dim?: number, keepDim?: boolean) {
  return dim === undefined ? red.min(this) : red.min(this, dim, keepDim);
} as Tensor['min'];
P.amax = function (dim, keepDim) { return red.amax(this, dim, keepDim); };
P.amin = function (dim, keepDim) { return red.amin(this, dim, keepDim); };
P.argmax = function (dim, keepDim) { return red.argmax(this, dim, keepDim); };
P.argmin = function (dim, keepDim) { return red.argmin(this, dim, keepDim); };
P.var = function (dim, opts) { return red.variance(this, dim, opts); };
P.std = function (dim, opts) { return red.std(this, dim, opts); };
P.matmul = function (o) { return mm.matmul(this, o); };
P.reshape = function (...s) { return vw.reshape(this, shapeArgs(s)); };
P.view = function (...s) { return vw.viewAs(this, shapeArgs(s)); };
P.flatten = function (a, b) { return vw.flatten(this, a, b); };
P.permute = function (...d) { return vw.permute(this, shapeArgs(d)); };
P.transpose = function (a, b) { return vw.transpose(this, a, b); };
P.t = function () {
  if (this.rank > 2) throw new Error(`t(): expects a tensor with <= 2 dimensions, got ${this.rank}`);
  return this.rank < 2 ? vw.reshape(this, this.shape) : vw.transpose(this, 0, 1);
};
P.expand = function (...s) { return vw.expand(this, shapeArgs(s)); };
P.unsqueeze = function (d) { return vw.unsqueeze(this, d); };
P.squeeze = function (d) { return vw.squeeze(this, d); };
P.flip = function (d) { return vw.flip(this, d); };
P.slice = function (d, s, e, st) { return vw.slice(this, d, s, e, st); };
P.narrow = function (d, s, l) { return vw.narrow(this, d, s, l); };
P.select = function (d, i) { return vw.select(this, d, i); };
P.softmax = function (d) { return sm.softmax(this, d); };
P.logSoftmax = function (d) { return sm.logSoftmax(this, d); };
P.gather = function (d, i) { return ix.gather(this, d, i); };
P.indexSelect = function (d, i) { return ix.indexSelect(this, d, i); };
