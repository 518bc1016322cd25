// Item 13 of issue 13 (op level): shapes too large for any tensor are refused before allocating, with the
// op, the shape, the element count and the bytes — instead of V8's raw "Invalid typed array length" — and
// interpolate's dense per-axis weight matrices are bounded too. These paths are reachable from model and
// CAM options (numClasses, imgSize, targetSize).
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { MAX_AXIS_MAP_ENTRIES } from '../../core/ops/interpolate';
import { MAX_TENSOR_ELEMENTS, fmtBytes } from '../../core/ops/size-limit';

describe('tensor size limit', () => {
  test('the limit is the longest typed array V8 makes, 2^32 elements', () => {
    expect(MAX_TENSOR_ELEMENTS).toBe(4_294_967_296);
    expect(fmtBytes(1536)).toBe('1.5 KiB');
    expect(fmtBytes(40e9)).toBe('37.3 GiB');
  });

  test('creation ops name the op, the shape, the count and the bytes', () => {
    expect(() => F.zeros([100000, 100000])).toThrow(
      'full: shape [100000, 100000] has 10,000,000,000 elements (37.3 GiB as float32); a tensor can hold at most 4,294,967,296 elements',
    );
    expect(() => F.ones([65536, 65536, 2], { dtype: 'int32' })).toThrow('full: shape [65536, 65536, 2] has 8,589,934,592 elements (32 GiB as int32)');
    expect(() => F.randn([1e6, 1e6])).toThrow('randn: shape [1000000, 1000000] has 1,000,000,000,000 elements (3.64 TiB as float32)');
    expect(() => F.rand([1e5, 1e5], { dtype: 'float64' })).toThrow('rand: shape [100000, 100000] has 10,000,000,000 elements (74.5 GiB as float64)');
    expect(() => F.arange(0, 1e10)).toThrow('arange: shape [10000000000] has 10,000,000,000 elements (37.3 GiB as int32)');
  });

  test('model options that would need such a tensor fail at construction with that message', () => {
    expect(() => F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 2, 2, 2], numClasses: 1e10 })).toThrow(
      'rand: shape [10000000000, 2] has 20,000,000,000 elements (74.5 GiB as float32)',
    );
  });

  test('interpolate checks its output before resizing', () => {
    const x = F.zeros([1, 3, 8, 8]);
    expect(() => F.interpolate(x, { size: [100000, 100000], mode: 'bilinear' })).toThrow(
      'interpolate: shape [1, 3, 100000, 100000] has 30,000,000,000 elements (112 GiB as float32); a tensor can hold at most 4,294,967,296 elements',
    );
    expect(() => F.interpolate(x, { scaleFactor: 1e5 })).toThrow('interpolate: shape [1, 3, 800000, 800000] has 1,920,000,000,000 elements');
  });

  test("interpolate bounds each axis's dense weight matrix (output × input entries)", () => {
    expect(MAX_AXIS_MAP_ENTRIES).toBe(2 ** 26);
    const x = F.zeros([1, 1, 2, 8]);
    expect(() => F.interpolate(x, { size: [2, 2 ** 23 + 1], mode: 'bilinear' })).toThrow(
      'interpolate: resizing the width from 8 to 8388609 needs a 8388609×8 weight matrix (67,108,872 entries, 512 MiB), ' +
        'above the limit of 67,108,864 entries; resize in smaller steps',
    );
    // 'area' uses adaptive pooling windows, not the interpolation matrices
    expect(F.interpolate(F.zeros([1, 1, 4, 4]), { size: [2, 2], mode: 'area' }).shape).toEqual([1, 1, 2, 2]);
  });
});
