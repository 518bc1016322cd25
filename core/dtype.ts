// Element types. float32 is the working type; int32 holds indices and labels; float64 exists so gradient
// checks by finite differences can run on the CPU backend without float32 rounding swamping the signal.
export type DType = 'float32' | 'int32' | 'float64';
export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];

export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32';
}

export function arrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int32': return new Int32Array(size);
  }
}

export function arrayFrom(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = arrayFor(dtype, values.length);
  if (dtype === 'int32') {
    // Truncate toward zero as torch.tensor(..., dtype=int32) does for floats.
    for (let i = 0; i < values.length; i++) out[i] = Math.trunc(values[i]);
  } else {
    out.set(values as ArrayLike<number>);
  }
  return out;
}

/** Result type of a binary op: torch's promotion restricted to our three types. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}

export function checkDType(dtype: unknown, argName = 'dtype'): DType {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'float64') return dtype;
  throw new TypeError(`${argName}: expected 'float32', 'int32' or 'float64', got ${JSON.stringify(dtype)}`);
}
