// The module builder: LEB128 against the encodings the WebAssembly spec and DWARF give as examples, and tiny
// modules whose results are known in closed form (a triangular number, a dot product, a madd), run both
// with relaxed SIMD instructions and with the mul+add fallback.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ModuleBuilder, WasmBuildError, detectFeatures, sleb, uleb } from '../../kernels/wasm/builder/index';

describe('LEB128', () => {
  test('known encodings', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(65536)).toEqual([0x80, 0x80, 0x04]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => uleb(-1)).toThrow(RangeError);
  });

  test('i32.const round-trips every i32 through a compiled module', () => {
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
      const m = new ModuleBuilder(null).func('k', {}, ['i32'], (f) => f.value('i32', v));
      const k = m.instantiate().k as () => number;
      expect(k()).toBe(v);
    }), { numRuns: 50 });
  });
});

describe('module builder', () => {
  test('a counted loop: sum of 1..n is n(n+1)/2', () => {
    const m = new ModuleBuilder(null).func('tri', { n: 'i32' }, ['i32'], (f) => {
      const n = f.get('n');
      const i = f.local('i', 'i32');
      const s = f.local('s', 'i32');
      f.for_(i, 1, n, 1, () => f.set(s, f.i32.add(s, i)));
      f.value('i32', f.i32.add(s, n)); // for_ runs i < n; add the last term
    });
    const tri = m.instantiate().tri as (n: number) => number;
    for (const n of [1, 2, 10, 1000]) expect(tri(n)).toBe((n * (n + 1)) / 2);
  });

  test('calls, if/else, select and early exit from a block', () => {
    const m = new ModuleBuilder(null)
      .func('absdiff', { a: 'i32', b: 'i32' }, ['i32'], (f) => {
        const [a, b] = f.params;
        f.if_(f.i32.gtS(a, b), () => f.return_(f.i32.sub(a, b)));
        f.value('i32', f.i32.sub(b, a));
      })
      .func('clip10', { a: 'i32', b: 'i32' }, ['i32'], (f) => {
        const r = f.local('r', 'i32');
        f.set(r, f.call('absdiff', ['i32', 'i32'], f.get('a'), f.get('b')));
        f.value('i32', f.select('i32', 10, r, f.i32.gtS(r, 10)));
      });
    const e = m.instantiate();
    expect((e.absdiff as (a: number, b: number) => number)(3, 10)).toBe(7);
    expect((e.absdiff as (a: number, b: number) => number)(10, 3)).toBe(7);
    expect((e.clip10 as (a: number, b: number) => number)(-50, 3)).toBe(10);
    expect((e.clip10 as (a: number, b: number) => number)(5, 3)).toBe(2);
  });

  for (const relaxed of [false, true]) {
    const available = !relaxed || detectFeatures().relaxedSimd;
    test(`f32x4 dot product over shared memory (${relaxed ? 'relaxed_madd' : 'mul+add'}${available ? '' : ': relaxed SIMD absent, compile only'})`, () => {
      const shared = detectFeatures().sharedMemory;
      const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared } as WebAssembly.MemoryDescriptor);
      const m = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared }, { relaxedSimd: relaxed });
      m.func('dot', { x: 'i32', y: 'i32', n4: 'i32' }, ['f32'], (f) => {
        const [x, y, n4] = f.params;
        const acc = f.local('acc', 'v128');
        const i = f.local('i', 'i32');
        f.for_(i, 0, n4, 1, () => {
          f.set(acc, f.f32x4.madd(f.v128.load(f.i32.add(x, f.i32.shl(i, 4))), f.v128.load(f.i32.add(y, f.i32.shl(i, 4))), acc));
        });
        const lane = (l: 0 | 1 | 2 | 3) => f.f32x4.extractLane(acc, l);
        f.value('f32', f.f32.add(f.f32.add(lane(0), lane(1)), f.f32.add(lane(2), lane(3))));
      });
      m.func('axpy', { x: 'i32', y: 'i32', a: 'f32', n: 'i32' }, [], (f) => {
        // y[i] = a·x[i] + y[i], scalar: exercises f32 loads/stores and stores with a pushed address
        const [x, y, a, n] = f.params;
        const i = f.local('i', 'i32');
        const p = f.local('p', 'i32');
        f.for_(i, 0, n, 1, () => {
          f.set(p, f.i32.shl(i, 2));
          f.f32.store(f.i32.add(y, p), f.f32.add(f.f32.mul(a, f.f32.load(f.i32.add(x, p))), f.f32.load(f.i32.add(y, p))));
        });
      });
      const bytes = m.bytes();
      expect(WebAssembly.validate(bytes)).toBe(available);
      if (!available) return;
      const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: mem } }).exports;
      const f32 = new Float32Array(mem.buffer);
      for (let i = 0; i < 64; i++) {
        f32[i] = i; // x = 0..63 at byte 0
        f32[64 + i] = 1 / 2 ** (i % 4); // y = 1, 1/2, 1/4, 1/8 repeating at byte 256: exact products
      }
      // Σ i·2^-(i mod 4) = Σ_q (4q + r)·2^-r over q < 16, r < 4, all exact in float32
      let want = 0;
      for (let i = 0; i < 64; i++) want += i / 2 ** (i % 4);
      expect((e.dot as (x: number, y: number, n: number) => number)(0, 256, 16)).toBe(want);
      (e.axpy as (x: number, y: number, a: number, n: number) => void)(0, 256, 2, 8);
      expect(Array.from(f32.subarray(64, 72))).toEqual([0 * 2 + 1, 2 + 0.5, 4 + 0.25, 6 + 0.125, 8 + 1, 10 + 0.5, 12 + 0.25, 14 + 0.125]);
    });
  }

  test('nested expressions keep operand order; mistakes are build errors', () => {
    const m = new ModuleBuilder(null).func('k', { a: 'i32' }, ['i32'], (f) => {
      const a = f.get('a');
      f.value('i32', f.i32.sub(a, f.i32.mul(f.i32.add(a, 1), 3))); // a - 3(a + 1)
    });
    expect((m.instantiate().k as (a: number) => number)(5)).toBe(5 - 18);
    expect(() => new ModuleBuilder(null).func('dup', { a: 'i32' }, [], (f) => { f.local('a', 'i32'); })).toThrow(/declared twice/);
    expect(() => new ModuleBuilder(null).func('nocallee', {}, [], (f) => { f.callVoid('missing', []); })).toThrow(/not declared/);
    expect(() => new ModuleBuilder(null).func('neg', {}, [], (f) => f.value('i32', f.i32.load(0, -4)))).toThrow(WasmBuildError);
  });
});
