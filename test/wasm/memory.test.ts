// The wasm heap: size-class reuse and byte accounting, growth that keeps data and refreshes views, and a
// named error at the heap's limit (a small one here, and the 4 GiB wasm32 limit without allocating it).
import { describe, expect, test } from 'vitest';
import { WASM32_MAX_BYTES, WasmHeap, WasmMemoryLimitError, blockSize } from '../../kernels/wasm/memory';

describe('wasm heap', () => {
  test('block sizes: quarter steps between powers of two, 16-byte multiples, ≤ 25 % waste', () => {
    expect(blockSize(1)).toBe(64);
    expect(blockSize(64)).toBe(64);
    expect(blockSize(65)).toBe(80);
    expect(blockSize(100)).toBe(112);
    expect(blockSize(1024)).toBe(1024);
    expect(blockSize(1025)).toBe(1280);
    for (let b = 1; b < 100_000; b += 997) {
      const s = blockSize(b);
      expect(s % 16).toBe(0);
      expect(s).toBeGreaterThanOrEqual(b);
      expect(s).toBeLessThanOrEqual(Math.max(64, b * 1.25 + 16));
    }
  });

  test('alloc/free accounting and reuse of freed blocks', () => {
    const h = new WasmHeap({ shared: false, initialBytes: 65536, maximumBytes: 4 * 2 ** 20 });
    const a = h.alloc(100);
    const b = h.alloc(1000);
    expect(a % 16).toBe(0);
    expect(b % 16).toBe(0);
    expect(h.stats().bytesInUse).toBe(112 + 1024);
    h.free_(a);
    expect(h.stats().bytesInUse).toBe(1024);
    const c = h.alloc(97); // same bucket as a: reused
    expect(c).toBe(a);
    expect(h.stats().reused).toBe(1);
    h.free_(b);
    h.free_(c);
    expect(h.stats().bytesInUse).toBe(0);
    expect(() => h.free_(c)).toThrow(/not a live block/);
  });

  for (const shared of [false, true]) {
    test(`growth keeps the data and re-creates the views (${shared ? 'shared' : 'unshared'} memory)`, () => {
      const h = new WasmHeap({ shared, initialBytes: 65536, maximumBytes: 64 * 2 ** 20 });
      const p = h.alloc(1000 * 4);
      for (let i = 0; i < 1000; i++) h.f32[p / 4 + i] = i * 0.5;
      const before = h.memoryBytes;
      const big = h.alloc(3 * 2 ** 20);
      expect(h.memoryBytes).toBeGreaterThan(before);
      expect(h.f32.length * 4).toBe(h.memoryBytes);
      expect(h.f32[p / 4 + 999]).toBe(499.5);
      h.f32[big / 4 + (3 * 2 ** 20) / 4 - 1] = 7; // the last element of the new block is addressable
      expect(h.f32[big / 4 + (3 * 2 ** 20) / 4 - 1]).toBe(7);
    });
  }

  test('past the maximum: a named error, and the heap still works', () => {
    const h = new WasmHeap({ shared: false, initialBytes: 65536, maximumBytes: 2 ** 20 });
    const ok = h.alloc(512 * 1024);
    expect(() => h.alloc(600 * 1024)).toThrow(WasmMemoryLimitError);
    expect(() => h.alloc(600 * 1024)).toThrow(/exceed 1\.0 MiB/);
    h.free_(ok);
    expect(h.alloc(512 * 1024)).toBe(ok);
  });

  test('the 4 GiB wasm32 limit is reported by name without allocating it', () => {
    const h = new WasmHeap({ shared: true, initialBytes: 65536 });
    expect(h.maximumBytes).toBe(WASM32_MAX_BYTES);
    expect(() => h.alloc(5 * 2 ** 30)).toThrow(WasmMemoryLimitError);
    expect(() => h.alloc(5 * 2 ** 30)).toThrow(/4 GiB wasm32 address space/);
    expect(h.stats().bytesInUse).toBe(0);
  });
});
