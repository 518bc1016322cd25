// LEB128, the variable-length integer encoding used throughout the WebAssembly binary format: 7 bits per
// byte, low bits first, the high bit set on every byte but the last.

/** Unsigned LEB128 of a non-negative integer below 2^53 (sizes, indices, alignments, opcodes). */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`uleb: expected a non-negative integer, got ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    // Math.floor instead of >>> keeps values above 2^32 (memory limits in bytes never reach here, but
    // page counts and offsets up to 2^32 - 1 do)
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in the i32 range (i32.const immediates). */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1) {
    throw new RangeError(`sleb: expected an i32 (or u32) integer, got ${value}`);
  }
  // u32 values above 2^31 are written as the i32 with the same bits, as i32.const expects
  let v = value | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A UTF-8 name prefixed by its byte length (import/export names). */
export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count, then the elements' bytes. */
export function vec(items: readonly (readonly number[])[]): number[] {
  const out = uleb(items.length);
  for (const it of items) out.push(...it);
  return out;
}

/** Little-endian IEEE-754 single (f32.const immediates). */
export function f32Bytes(v: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...b];
}
