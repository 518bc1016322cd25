// Per-dispatch parameters (sizes, strides, offsets, scalar operands) travel in a uniform buffer, so one
// compiled pipeline serves every shape with the same specialisation key. A UniformLayout names the fields once
// and produces both the WGSL struct and the host-side packing, so the two can never disagree.
//
// WGSL uniform layout rules, applied here: the 8-element index vectors are `array<vec4<T>, 2>` (16-byte
// aligned, 32 bytes) and come first; 4-byte scalars follow, packed; the struct size is rounded up to 16.

export type ScalarType = 'u32' | 'i32' | 'f32';
/** Up to MAX_RANK signed / unsigned integers, e.g. a shape or a stride list. */
export type VectorType = 'ivec' | 'uvec';
export type FieldType = ScalarType | VectorType;

/** Highest rank a strided view may have after dimension collapsing. */
export const MAX_RANK = 8;

const COMPONENTS = ['x', 'y', 'z', 'w'];

export class UniformLayout {
  /** Word (4-byte) offset of each field. */
  private readonly offsets = new Map<string, { word: number; type: FieldType }>();
  readonly byteSize: number;
  readonly fields: readonly (readonly [string, FieldType])[];

  constructor(fields: readonly (readonly [string, FieldType])[]) {
    const vectors = fields.filter(([, t]) => t === 'ivec' || t === 'uvec');
    const scalars = fields.filter(([, t]) => t !== 'ivec' && t !== 'uvec');
    this.fields = [...vectors, ...scalars];
    let word = 0;
    for (const [name, type] of this.fields) {
      if (this.offsets.has(name)) throw new Error(`UniformLayout: duplicate field ${name}`);
      this.offsets.set(name, { word, type });
      word += type === 'ivec' || type === 'uvec' ? MAX_RANK : 1;
    }
    this.byteSize = Math.max(16, Math.ceil((word * 4) / 16) * 16);
  }

  /** `struct <name> { ... }` for this layout. */
  wgsl(structName = 'Params'): string {
    const lines = this.fields.map(([name, type]) => {
      if (type === 'ivec') return `  ${name}: array<vec4<i32>, ${MAX_RANK / 4}>,`;
      if (type === 'uvec') return `  ${name}: array<vec4<u32>, ${MAX_RANK / 4}>,`;
      return `  ${name}: ${type},`;
    });
    return `struct ${structName} {\n${lines.join('\n')}\n}`;
  }

  /** Writes the values into `words` (a view of at least byteSize/4 words) starting at word 0. */
  packInto(values: Readonly<Record<string, number | readonly number[]>>, u32: Uint32Array, i32: Int32Array, f32: Float32Array, base: number): void {
    for (const [name, { word, type }] of this.offsets) {
      const v = values[name];
      if (v === undefined) throw new Error(`UniformLayout: missing value for ${name}`);
      const w = base + word;
      if (type === 'ivec' || type === 'uvec') {
        const arr = v as readonly number[];
        if (arr.length > MAX_RANK) throw new Error(`UniformLayout: ${name} has ${arr.length} entries (max ${MAX_RANK})`);
        for (let i = 0; i < MAX_RANK; i++) {
          const x = i < arr.length ? arr[i] : 0;
          if (type === 'ivec') i32[w + i] = x;
          else u32[w + i] = x;
        }
      } else if (type === 'f32') f32[w] = v as number;
      else if (type === 'i32') i32[w] = v as number;
      else u32[w] = v as number;
    }
  }
}

/** WGSL expression for entry `d` (a compile-time constant) of a vector field: `u.shape[1].z`. */
export function vecAt(field: string, d: number, struct = 'u'): string {
  return `${struct}.${field}[${d >> 2}].${COMPONENTS[d & 3]}`;
}
