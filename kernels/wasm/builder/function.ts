// The instruction emitter: one FunctionBuilder per wasm function, with named locals, labelled blocks and one
// typed helper per instruction, so a kernel reads as its algorithm rather than as opcodes.
//
// Expressions are trees, emitted when a statement consumes them: `f.set(acc, f.f32x4.madd(a, f.v128.load(p), acc))`
// builds the madd with its operands and set() writes the instructions in stack order. An operand is
//   - a Local   → local.get,
//   - a number  → a constant of the instruction's type (f32x4 operands splat it),
//   - an Expr   → its instructions.
// Statements (set, store, brIf, if_, value, drop, ...) emit immediately, in the order the kernel calls them.
import { f32Bytes, sleb, uleb } from './leb128';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export const VALTYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export class Local {
  constructor(readonly index: number, readonly type: ValType, readonly name: string) {}
}

/** An instruction sequence that leaves one value on the stack. */
export class Expr {
  constructor(readonly emit: () => void) {}
}
export type Operand = Local | number | Expr;

/** A branch target: blocks branch to their end, loops to their start. */
export interface Label {
  readonly depth: number;
  readonly name: string;
}

export class WasmBuildError extends Error {
  override name = 'WasmBuildError';
}

const SIMD = 0xfd;
/** Memory access alignment exponent (log2 bytes) of each access width. */
const ALIGN = { 1: 0, 2: 1, 4: 2, 8: 3, 16: 4 } as const;

/** Features a module may use; relaxedSimd only where the engine validated a probe module (features.ts). */
export interface Features {
  relaxedSimd: boolean;
}

export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals: Local[] = [];
  private readonly byName = new Map<string, Local>();
  private depth = 0;
  readonly i32: I32Ops;
  readonly f32: F32Ops;
  readonly v128: V128Ops;
  readonly f32x4: F32x4Ops;

  constructor(
    readonly name: string,
    params: readonly [string, ValType][],
    readonly results: readonly ValType[],
    readonly features: Features,
    private readonly resolveCall: (callee: string) => number,
  ) {
    for (const [n, t] of params) this.addLocal(n, t);
    this.paramCount = params.length;
    this.i32 = new I32Ops(this);
    this.f32 = new F32Ops(this);
    this.v128 = new V128Ops(this);
    this.f32x4 = new F32x4Ops(this);
  }

  private readonly paramCount: number;

  get params(): Local[] {
    return this.locals.slice(0, this.paramCount);
  }

  /** The parameter or local called `n`. */
  get(n: string): Local {
    const l = this.byName.get(n);
    if (!l) throw new WasmBuildError(`${this.name}: no local named ${n}`);
    return l;
  }

  /** Declares a local (zero-initialised by the engine). */
  local(n: string, type: ValType): Local {
    return this.addLocal(n, type);
  }

  /** The local called `n`, declared on first use (for helpers that emit the same loop more than once). */
  reuse(n: string, type: ValType): Local {
    const l = this.byName.get(n);
    if (!l) return this.addLocal(n, type);
    if (l.type !== type) throw new WasmBuildError(`${this.name}: local ${n} is ${l.type}, not ${type}`);
    return l;
  }

  private addLocal(n: string, type: ValType): Local {
    if (this.byName.has(n)) throw new WasmBuildError(`${this.name}: local ${n} declared twice`);
    const l = new Local(this.locals.length, type, n);
    this.locals.push(l);
    this.byName.set(n, l);
    return l;
  }

  // ---- raw emission -------------------------------------------------------------------------------------
  emit(...bytes: number[]): void {
    for (const b of bytes) this.code.push(b);
  }

  simd(opcode: number, ...immediates: number[]): void {
    this.emit(SIMD, ...uleb(opcode), ...immediates);
  }

  /** Emits an operand as a value of `type`. */
  push(type: ValType, o: Operand): void {
    if (o instanceof Expr) {
      o.emit();
      return;
    }
    if (o instanceof Local) {
      this.emit(0x20, ...uleb(o.index));
      return;
    }
    switch (type) {
      case 'i32': this.emit(0x41, ...sleb(o)); break;
      case 'f32': this.emit(0x43, ...f32Bytes(o)); break;
      case 'v128': this.emit(0x43, ...f32Bytes(o)); this.simd(0x13); break; // f32x4.splat of the constant
      default: throw new WasmBuildError(`${this.name}: no constant form for ${type}`);
    }
  }

  /** An expression: `types[i]` is the type of operand i, then the instruction bytes `op`. */
  expr(types: readonly ValType[], operands: readonly Operand[], op: () => void): Expr {
    return new Expr(() => {
      operands.forEach((o, i) => this.push(types[i], o));
      op();
    });
  }

  // ---- statements ---------------------------------------------------------------------------------------
  set(l: Local, value: Operand): void {
    this.push(l.type, value);
    this.emit(0x21, ...uleb(l.index));
  }

  /** Sets the local and yields its new value. */
  tee(l: Local, value: Operand): Expr {
    return this.expr([l.type], [value], () => this.emit(0x22, ...uleb(l.index)));
  }

  /** Leaves a value on the stack: the function's result when it is the last statement. */
  value(type: ValType, v: Operand): void {
    this.push(type, v);
  }

  drop(type: ValType, v: Operand): void {
    this.push(type, v);
    this.emit(0x1a);
  }

  // ---- control ------------------------------------------------------------------------------------------
  /** A block; `br(label)` inside jumps past its end. */
  block(n: string, body: (exit: Label) => void): void {
    this.emit(0x02, 0x40);
    this.structured(n, body);
  }

  /** A loop; `br(label)` inside jumps back to its start. */
  loop(n: string, body: (top: Label) => void): void {
    this.emit(0x03, 0x40);
    this.structured(n, body);
  }

  /** if (cond != 0) then() else else_(). */
  if_(cond: Operand, then: () => void, else_?: () => void): void {
    this.push('i32', cond);
    this.emit(0x04, 0x40);
    this.depth++;
    then();
    if (else_) {
      this.emit(0x05);
      else_();
    }
    this.emit(0x0b);
    this.depth--;
  }

  private structured(n: string, body: (l: Label) => void): void {
    this.depth++;
    body({ depth: this.depth, name: n });
    this.emit(0x0b);
    this.depth--;
  }

  br(l: Label): void {
    this.emit(0x0c, ...uleb(this.relative(l)));
  }

  brIf(l: Label, cond: Operand): void {
    this.push('i32', cond);
    this.emit(0x0d, ...uleb(this.relative(l)));
  }

  private relative(l: Label): number {
    const d = this.depth - l.depth;
    if (d < 0) throw new WasmBuildError(`${this.name}: branch to label ${l.name} from outside it`);
    return d;
  }

  /**
   * for (i = from; i < to; i += step) body(exit). `to` is re-read every iteration (a local or a constant). The
   * test sits at the top, so from ≥ to runs nothing; the comparison is signed.
   */
  for_(i: Local, from: Operand, to: Local | number, step: number, body: (exit: Label) => void): void {
    this.set(i, from);
    this.block(`${i.name}.exit`, (exit) => {
      this.loop(`${i.name}.top`, (top) => {
        this.brIf(exit, this.i32.geS(i, to));
        body(exit);
        this.set(i, this.i32.add(i, step));
        this.br(top);
      });
    });
  }

  return_(value?: Operand): void {
    if (value !== undefined) this.push(this.results[0], value);
    this.emit(0x0f);
  }

  /** A call; `types` are the callee's parameter types (in the order of `args`). */
  call(callee: string, types: readonly ValType[], ...args: Operand[]): Expr {
    return this.expr(types, args, () => this.emit(0x10, ...uleb(this.resolveCall(callee))));
  }

  /** A call statement of a function without results. */
  callVoid(callee: string, types: readonly ValType[], ...args: Operand[]): void {
    this.call(callee, types, ...args).emit();
  }

  /** cond ? a : b, both of `type`. */
  select(type: ValType, a: Operand, b: Operand, cond: Operand): Expr {
    return this.expr([type, type, 'i32'], [a, b, cond], () => this.emit(0x1b));
  }

  memarg(width: 1 | 2 | 4 | 8 | 16, offset: number): number[] {
    if (!Number.isInteger(offset) || offset < 0) throw new WasmBuildError(`${this.name}: memory offset must be a non-negative integer, got ${offset}`);
    return [...uleb(ALIGN[width]), ...uleb(offset)];
  }

  /** The function body as the code section wants it: locals (run-length by type), instructions, end. */
  encode(): number[] {
    const runs: [number, ValType][] = [];
    for (const l of this.locals.slice(this.paramCount)) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    const body = [...uleb(runs.length)];
    for (const [n, t] of runs) body.push(...uleb(n), VALTYPE_CODE[t]);
    body.push(...this.code, 0x0b);
    return [...uleb(body.length), ...body];
  }
}

abstract class Ops {
  constructor(protected readonly f: FunctionBuilder) {}
  protected op(types: readonly ValType[], operands: readonly Operand[], ...bytes: number[]): Expr {
    return this.f.expr(types, operands, () => this.f.emit(...bytes));
  }
  protected simdOp(types: readonly ValType[], operands: readonly Operand[], opcode: number, ...imm: number[]): Expr {
    return this.f.expr(types, operands, () => this.f.simd(opcode, ...imm));
  }
}

const I = ['i32', 'i32'] as const;
const F = ['f32', 'f32'] as const;
const V = ['v128', 'v128', 'v128'] as const;

export class I32Ops extends Ops {
  add(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x6a); }
  sub(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x6b); }
  mul(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x6c); }
  divS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x6d); }
  remS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x6f); }
  and(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x71); }
  or(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x72); }
  shl(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x74); }
  shrS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x75); }
  eqz(a: Operand): Expr { return this.op(I, [a], 0x45); }
  eq(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x46); }
  ne(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x47); }
  ltS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x48); }
  ltU(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x49); }
  gtS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x4a); }
  leS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x4c); }
  geS(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x4e); }
  geU(a: Operand, b: Operand): Expr { return this.op(I, [a, b], 0x4f); }
  load(addr: Operand, offset = 0): Expr { return this.op(I, [addr], 0x28, ...this.f.memarg(4, offset)); }
  store(addr: Operand, value: Operand, offset = 0): void { this.op(I, [addr, value], 0x36, ...this.f.memarg(4, offset)).emit(); }
}

export class F32Ops extends Ops {
  add(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x92); }
  sub(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x93); }
  mul(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x94); }
  div(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x95); }
  min(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x96); }
  max(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x97); }
  abs(a: Operand): Expr { return this.op(F, [a], 0x8b); }
  neg(a: Operand): Expr { return this.op(F, [a], 0x8c); }
  sqrt(a: Operand): Expr { return this.op(F, [a], 0x91); }
  ceil(a: Operand): Expr { return this.op(F, [a], 0x8d); }
  floor(a: Operand): Expr { return this.op(F, [a], 0x8e); }
  nearest(a: Operand): Expr { return this.op(F, [a], 0x90); }
  eq(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x5b); }
  gt(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x5e); }
  ne(a: Operand, b: Operand): Expr { return this.op(F, [a, b], 0x5c); }
  load(addr: Operand, offset = 0): Expr { return this.op(['i32'], [addr], 0x2a, ...this.f.memarg(4, offset)); }
  store(addr: Operand, value: Operand, offset = 0): void { this.op(['i32', 'f32'], [addr, value], 0x38, ...this.f.memarg(4, offset)).emit(); }
}

export class V128Ops extends Ops {
  load(addr: Operand, offset = 0): Expr { return this.simdOp(['i32'], [addr], 0x00, ...this.f.memarg(16, offset)); }
  /** Loads one f32 and splats it to all four lanes. */
  load32Splat(addr: Operand, offset = 0): Expr { return this.simdOp(['i32'], [addr], 0x09, ...this.f.memarg(4, offset)); }
  store(addr: Operand, value: Operand, offset = 0): void { this.simdOp(['i32', 'v128'], [addr, value], 0x0b, ...this.f.memarg(16, offset)).emit(); }
  and(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x4e); }
  /** Lane-wise i32 arithmetic on the v128's bits (for exponent tricks). */
  i32x4Add(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xae); }
  i32x4Shl(a: Operand, bits: Operand): Expr { return this.simdOp(['v128', 'i32'], [a, bits], 0xab); }
  i32x4Splat(x: Operand): Expr { return this.simdOp(['i32'], [x], 0x11); }
  /** f32 lanes → i32 lanes, truncating toward zero, saturating (NaN → 0). */
  i32x4TruncSatF32x4S(a: Operand): Expr { return this.simdOp(['v128'], [a], 0xf8); }
  /** i8x16.shuffle: byte i of the result is byte lanes[i] of a‖b (0–15 from a, 16–31 from b). */
  shuffle(a: Operand, b: Operand, lanes: readonly number[]): Expr {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new RangeError(`v128.shuffle: lanes must be 16 byte indices 0–31, got [${lanes.join(', ')}]`);
    return this.simdOp(V, [a, b], 0x0d, ...lanes);
  }
  /** f32x4 lanes picked from a‖b (0–3 from a, 4–7 from b), through i8x16.shuffle. */
  shuffle32(a: Operand, b: Operand, lanes: readonly [number, number, number, number]): Expr {
    return this.shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  or(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x50); }
  /** v128.const of four i32 lanes. */
  i32x4Const(l0: number, l1: number, l2: number, l3: number): Expr {
    const bytes = [l0, l1, l2, l3].flatMap((l) => [l & 255, (l >>> 8) & 255, (l >>> 16) & 255, (l >>> 24) & 255]);
    return this.simdOp([], [], 0x0c, ...bytes);
  }
  /** Lanes of a where mask is set, else of b. */
  bitselect(a: Operand, b: Operand, mask: Operand): Expr { return this.simdOp(V, [a, b, mask], 0x52); }
}

export class F32x4Ops extends Ops {
  splat(x: Operand): Expr { return this.simdOp(['f32'], [x], 0x13); }
  extractLane(v: Operand, lane: 0 | 1 | 2 | 3): Expr { return this.simdOp(V, [v], 0x1f, lane); }
  add(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe4); }
  sub(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe5); }
  mul(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe6); }
  div(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe7); }
  /** NaN-propagating min/max (IEEE minimum/maximum), as torch.minimum/maximum. */
  min(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe8); }
  max(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0xe9); }
  abs(a: Operand): Expr { return this.simdOp(V, [a], 0xe0); }
  neg(a: Operand): Expr { return this.simdOp(V, [a], 0xe1); }
  sqrt(a: Operand): Expr { return this.simdOp(V, [a], 0xe3); }
  ceil(a: Operand): Expr { return this.simdOp(V, [a], 0x67); }
  floor(a: Operand): Expr { return this.simdOp(V, [a], 0x68); }
  nearest(a: Operand): Expr { return this.simdOp(V, [a], 0x6a); }
  eq(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x41); }
  ne(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x42); }
  lt(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x43); }
  gt(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x44); }
  le(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x45); }
  ge(a: Operand, b: Operand): Expr { return this.simdOp(V, [a, b], 0x46); }

  /**
   * a·b + c. With relaxed SIMD this is f32x4.relaxed_madd, which the engine may compute fused (one rounding)
   * or unfused; without it, mul then add (two roundings). The GEMM tolerance covers both.
   */
  madd(a: Operand, b: Operand, c: Operand): Expr {
    if (this.f.features.relaxedSimd) return this.simdOp(V, [a, b, c], 0x105);
    return this.add(this.mul(a, b), c);
  }
}
