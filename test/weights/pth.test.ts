import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PyStub, type RangeSource, ZipArchive, blobSource, bytesSource, parseTorchCheckpoint,
  parseTorchCheckpointFull, readTorchCheckpointFile, readTorchCheckpointFileFull, readTorchCheckpointFromSource,
} from '../../models/weights';
import {
  EXPECTED, buildZip, concat, expectFormatError, expectFormatErrorAsync, expectTensors, fixture, fixturePath,
  pickleBytes, pstr, utf8,
} from './helpers';

const STOP = 0x2e;
const GLOBAL = (module: string, name: string) => pickleBytes(0x63, `${module}\n${name}\n`);
const int = (n: number) => pickleBytes(0x4a, ...new Uint8Array(new Int32Array([n]).buffer));
const tuple = (xs: number[]) => pickleBytes(0x28, ...xs.flatMap((x) => [...int(x)]), 0x74);

/** data.pkl for {'w': tensor} with the given view of a storage '0' of `numel` elements. */
function tensorPickle(o: { size: number[]; stride: number[]; offset?: number; numel: number; type?: string }): Uint8Array {
  return pickleBytes(
    0x80, 2, 0x7d, pstr('w'),
    GLOBAL('torch._utils', '_rebuild_tensor_v2'), 0x28,
    0x28, pstr('storage'), GLOBAL('torch', o.type ?? 'FloatStorage'), pstr('0'), pstr('cpu'), int(o.numel), 0x74, 0x51,
    int(o.offset ?? 0), tuple(o.size), tuple(o.stride), 0x89, GLOBAL('collections', 'OrderedDict'), 0x29, 0x52,
    0x74, 0x52, 0x73, STOP,
  );
}

function archive(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return buildZip([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    ...Object.entries(extra).map(([name, data]) => ({ name, data })),
    { name: 'archive/version', data: utf8('3\n') },
  ]);
}

const f32bytes = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

const ZIP_FIXTURES = ['basic.pth', 'views.pth', 'linear.pth', 'params.pth', 'single_tensor.pth', 'linear_deflated.pth', 'legacy.pth'];

describe('parseTorchCheckpoint on torch.save fixtures', () => {
  for (const name of ZIP_FIXTURES) {
    it(`${name}: exact values, dtypes and shapes`, () => {
      expectTensors(parseTorchCheckpoint(fixture(name)), EXPECTED[name].tensors);
    });
  }

  it('accepts a Node Buffer (a view into a larger pooled ArrayBuffer) as input', () => {
    for (const name of ZIP_FIXTURES) {
      const padded = Buffer.concat([Buffer.from('xyz'), readFileSync(fixturePath(name))]).subarray(3);
      expect(padded.byteOffset).not.toBe(0);
      expectTensors(parseTorchCheckpoint(padded), EXPECTED[name].tensors);
    }
  });

  it('keeps the state dict order', () => {
    expect(Object.keys(parseTorchCheckpoint(fixture('views.pth')))).toEqual(
      ['base', 'transposed', 'slice', 'row', 'step', 'expanded', 'half_t', 'long_col'],
    );
    expect(Object.keys(parseTorchCheckpoint(fixture('linear.pth')))).toEqual(['weight', 'bias']);
  });

  it('tensors sharing a storage get independent arrays', () => {
    const t = parseTorchCheckpoint(fixture('views.pth'));
    expect(t.base.data.buffer).not.toBe(t.row.data.buffer);
    (t.base.data as Float32Array)[8] = 100;
    expect(t.row.data[0]).toBe(8);
  });

  it('reports the format and the non-tensor structure', () => {
    expect(parseTorchCheckpointFull(fixture('legacy.pth')).format).toBe('legacy');
    const full = parseTorchCheckpointFull(fixture('linear.pth'));
    expect(full.format).toBe('zip');
    expect(full.root).toBeInstanceOf(Map);
    expect(full.values).toEqual({});
  });

  it('int64: bigint keeps int64 tensors exact', () => {
    const t = parseTorchCheckpoint(fixture('views.pth'), { int64: 'bigint' });
    expect(t.long_col.dtype).toBe('int64');
    expect(Array.from(t.long_col.data as BigInt64Array)).toEqual([1n, 3n, 5n]);
  });

  it('refuses to materialise a large expanded (stride 0) view beyond maxExpandedElements', () => {
    expectFormatError(() => parseTorchCheckpoint(fixture('views.pth'), { maxExpandedElements: 4 }), 'tensor "expanded"', /maxExpandedElements = 4/);
  });

  it('reads a big-endian archive (byteorder record)', () => {
    const zip = new ZipArchive(fixture('linear.pth'));
    const swap = (b: Uint8Array) => { const o = b.slice(); for (let i = 0; i < o.length; i += 4) o.set(b.subarray(i, i + 4).reverse(), i); return o; };
    const bytes = buildZip([
      ...zip.entries.map((e) => ({ name: e.name, data: e.name.includes('/data/') ? swap(zip.read(e)) : zip.read(e) })),
      { name: 'linear/byteorder', data: utf8('big') },
    ]);
    expectTensors(parseTorchCheckpoint(bytes), EXPECTED['linear.pth'].tensors);
  });
});

describe('nested checkpoints', () => {
  const nested = () => fixture('nested.pth');

  it('flattens nested dicts and lists into dotted keys by default, with non-tensor values', () => {
    const full = parseTorchCheckpointFull(nested());
    expectTensors(full.tensors, EXPECTED['nested.pth'].tensors);
    const v = full.values;
    const exp = EXPECTED['nested.pth'].values;
    expect(v.epoch).toBe(exp.epoch);
    expect(v.arch).toBe(exp.arch);
    expect(v.best_acc1).toBe(exp.best_acc1);
    expect(v.flag).toBe(true);
    expect(v.nothing).toBe(null);
    expect(Array.from(v.blob as Uint8Array)).toEqual(exp.blob);
    expect(v.huge).toBe(BigInt(exp.huge));
    expect(v.negative).toBe(exp.negative);
    expect(v['extra.list.1']).toBe(5);
  });

  it('select picks a sub-dict and stripPrefix removes DataParallel prefixes', () => {
    const lin = EXPECTED['linear.pth'].tensors;
    const sel = parseTorchCheckpoint(nested(), { select: 'state_dict' });
    expect(Object.keys(sel)).toEqual(['module.weight', 'module.bias']);
    expectTensors(parseTorchCheckpoint(nested(), { select: 'state_dict', stripPrefix: 'module.' }), lin);
    expectTensors(parseTorchCheckpoint(nested(), { select: ['extra', 'deeper'] }), { t: EXPECTED['nested.pth'].tensors['extra.deeper.t'] });
    expectTensors(parseTorchCheckpoint(nested(), { stripPrefix: 'state_dict.module.', filter: (k) => !k.includes('.') }), lin);
  });

  it('flatten: false returns only top-level tensors', () => {
    const full = parseTorchCheckpointFull(nested(), { flatten: false });
    expect(full.tensors).toEqual({});
    expect(full.values.state_dict).toBeInstanceOf(Map);
    expect(Object.keys(parseTorchCheckpoint(nested(), { flatten: false, select: 'state_dict' }))).toEqual(['module.weight', 'module.bias']);
  });

  it('select errors name the missing key and list the available ones', () => {
    expectFormatError(() => parseTorchCheckpoint(nested(), { select: 'model' }), /no key "model"/, /state_dict/, /epoch/);
    expectFormatError(() => parseTorchCheckpoint(nested(), { select: ['epoch', 'x'] }), /"epoch" is 7, not a dict/);
  });

  it('a checkpoint pickling other objects needs unknownGlobals: stub', () => {
    expectFormatError(() => parseTorchCheckpoint(fixture('namespace.pth')), "global 'argparse.Namespace' is not allowed", /namespace\/data\.pkl/);
    const full = parseTorchCheckpointFull(fixture('namespace.pth'), { unknownGlobals: 'stub' });
    expectTensors(full.tensors, EXPECTED['namespace.pth'].tensors);
    expect(full.values.args).toBeInstanceOf(PyStub);
    expect((full.values.args as PyStub).global.qualifiedName).toBe('argparse.Namespace');
    expectTensors(parseTorchCheckpoint(fixture('namespace.pth'), { unknownGlobals: 'stub', select: 'model' }), EXPECTED['linear.pth'].tensors);
  });

  it('stub mode walks dict subclasses such as collections.defaultdict', () => {
    expectFormatError(() => parseTorchCheckpoint(fixture('defaultdict.pth')), "global 'collections.defaultdict' is not allowed");
    const full = parseTorchCheckpointFull(fixture('defaultdict.pth'), { unknownGlobals: 'stub' });
    expectTensors(full.tensors, EXPECTED['defaultdict.pth'].tensors);
    expect(full.values['sd.epoch']).toBe(3);
    expectTensors(parseTorchCheckpoint(fixture('defaultdict.pth'), { unknownGlobals: 'stub', select: 'sd' }), { w: EXPECTED['defaultdict.pth'].tensors['sd.w'] });
  });

  it('cyclic and deeply nested containers terminate', () => {
    // {'a': d} where d is the dict itself
    const cyclic = pickleBytes(0x80, 2, 0x7d, 0x71, 0, pstr('a'), 0x68, 0, 0x73, STOP);
    expect(parseTorchCheckpointFull(archive(cyclic)).tensors).toEqual({});
    // 300 nested lists
    const deep = pickleBytes(0x80, 2, ...new Array(300).fill(0x5d), ...new Array(299).fill(0x61), STOP);
    expectFormatError(() => parseTorchCheckpoint(archive(deep)), /nested deeper than 200/);
  });
});

describe('security', () => {
  it('the malicious checkpoint is rejected, naming the global, and nothing runs', () => {
    expectFormatError(() => parseTorchCheckpoint(fixture('malicious.pth')), `global '${EXPECTED['malicious.pth'].global}' is not allowed`, /nothing was executed/);
    expect(existsSync('/tmp/finercam-pwned')).toBe(false);
  });

  it('a malicious pickle is rejected in the legacy format too', () => {
    const legacy = fixture('legacy.pth');
    // Replace the main pickle's first GLOBAL module name with "posix  \nsystem" of the same length? Simpler: splice in a new pickle.
    const magic = legacy.subarray(0, 15 + 6 + 116);
    const evil = pickleBytes(0x80, 2, GLOBAL('posix', 'system'), pstr('id'), 0x85, 0x52, STOP);
    expectFormatError(() => parseTorchCheckpoint(concat(magic, evil, pickleBytes(0x80, 2, 0x5d, STOP))), "global 'posix.system' is not allowed");
  });
});

describe('file and source readers', () => {
  for (const name of ZIP_FIXTURES) {
    it(`readTorchCheckpointFile(${name}) equals the in-memory parse`, async () => {
      const mem = parseTorchCheckpoint(fixture(name));
      expect(await readTorchCheckpointFile(fixturePath(name))).toEqual(mem);
      expect((await readTorchCheckpointFromSource(blobSource(new Blob([fixture(name)])))).tensors).toEqual(mem);
    });
  }

  it('readTorchCheckpointFileFull returns values too', async () => {
    const full = await readTorchCheckpointFileFull(fixturePath('nested.pth'), { select: 'state_dict' });
    expect(Object.keys(full.tensors)).toEqual(['module.weight', 'module.bias']);
  });

  it('reads only the storages of the tensors that pass the filter', async () => {
    for (const [name, key, storage] of [['views.pth', 'transposed', 'views/data/0'], ['linear.pth', 'bias', 'linear/data/1'], ['legacy.pth', 'long', '']]) {
      const bytes = fixture(name);
      const reads: [number, number][] = [];
      const inner = bytesSource(bytes);
      const counting: RangeSource = { size: inner.size, read: (o, l) => { reads.push([o, l]); return inner.read(o, l); } };
      const got = await readTorchCheckpointFromSource(counting, { filter: (k) => k === key });
      expect(Object.keys(got.tensors)).toEqual([key]);
      if (!storage) continue;
      // Which storage entries had their data read (besides the directory read of the file's tail)?
      const zip = new ZipArchive(bytes);
      const dataReads = reads.filter(([, l]) => l < bytes.length);
      const touched = zip.entries.filter((e) => e.name.includes('/data/') && dataReads.some(([o, l]) => l === e.compressedSize && o > e.localHeaderOffset && o < e.localHeaderOffset + 200));
      expect(touched.map((e) => e.name)).toEqual([storage]);
    }
  });

  it('file errors are reported', async () => {
    await expect(readTorchCheckpointFile(fixturePath('missing.pth'))).rejects.toThrow(/ENOENT/);
    await expectFormatErrorAsync(() => readTorchCheckpointFile(fixturePath('basic.safetensors')), /not a PyTorch checkpoint/);
  });
});

describe('validation errors', () => {
  it('truncated checkpoints', () => {
    for (const name of ['linear.pth', 'views.pth']) {
      const b = fixture(name);
      for (const cut of [3, 100, b.length / 2, b.length - 1]) expectFormatError(() => parseTorchCheckpoint(b.subarray(0, cut)), /too small|zip: .*truncated|not a zip/);
    }
    const legacy = fixture('legacy.pth');
    for (const cut of [10, 200, 500, legacy.length - 1]) expectFormatError(() => parseTorchCheckpoint(legacy.subarray(0, cut)), /truncated|past the end/);
  });

  it('not a checkpoint', () => {
    expectFormatError(() => parseTorchCheckpoint(utf8('hello world')), /not a PyTorch checkpoint/);
    expectFormatError(() => parseTorchCheckpoint(buildZip([{ name: 'x/y.txt', data: utf8('a') }])), /no data\.pkl/);
    expectFormatError(
      () => parseTorchCheckpoint(buildZip([{ name: 'a/data.pkl', data: utf8('a') }, { name: 'b/data.pkl', data: utf8('a') }])),
      /several data\.pkl/,
    );
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [1], stride: [1], numel: 1 }), {}, { 'archive/constants.pkl': utf8('') })), /TorchScript/);
    expectFormatError(() => parseTorchCheckpoint(archive(pickleBytes(0x80, 2, 0x4b, 5, STOP))), /expected a dict of tensors .* got 5/);
  });

  it('missing storage entry', () => {
    expectFormatError(
      () => parseTorchCheckpoint(archive(tensorPickle({ size: [2], stride: [1], numel: 2 }))),
      /storage "0" \(used by tensor "w"\) is missing: no zip entry "archive\/data\/0"/,
    );
  });

  it('storage size mismatch', () => {
    expectFormatError(
      () => parseTorchCheckpoint(archive(tensorPickle({ size: [4], stride: [1], numel: 4 }), { 0: f32bytes([1, 2, 3]) })),
      /storage "0" \(used by tensor "w"\): expected 4 × 4 bytes \(FloatStorage\) = 16 bytes, zip entry has 12/,
    );
  });

  it('views reaching outside their storage', () => {
    const data = { 0: f32bytes([1, 2, 3, 4]) };
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [5], stride: [1], numel: 4 }), data)), 'tensor "w"', /reaches element 4, but storage "0" has only 4 elements/);
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [2, 2], stride: [2, 1], offset: 1, numel: 4 }), data)), /reaches element 4/);
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [2], stride: [3], offset: 1, numel: 4 }), data)), /reaches element 4/);
    // Valid strided and expanded views of the same storage
    expect(Array.from(parseTorchCheckpoint(archive(tensorPickle({ size: [2, 2], stride: [1, 2], numel: 4 }), data)).w.data as Float32Array)).toEqual([1, 3, 2, 4]);
    expect(Array.from(parseTorchCheckpoint(archive(tensorPickle({ size: [2, 3], stride: [1, 0], offset: 2, numel: 4 }), data)).w.data as Float32Array)).toEqual([3, 3, 3, 4, 4, 4]);
    // A huge expansion from a corrupt stride is refused before allocating.
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [1 << 20, 1 << 20], stride: [0, 0], numel: 4 }), data)), /maxExpandedElements/);
    expectFormatError(() => parseTorchCheckpoint(archive(tensorPickle({ size: [1 << 30, 1 << 30], stride: [0, 0], numel: 4 }), data)), /too many elements/);
  });

  it('zero-element tensors need no storage bytes', () => {
    const t = parseTorchCheckpoint(archive(tensorPickle({ size: [0, 3], stride: [3, 1], numel: 0 }), { 0: new Uint8Array(0) }));
    expect(t.w.shape).toEqual([0, 3]);
    expect(t.w.data.length).toBe(0);
  });

  it('int64 values outside int32 name the tensor', () => {
    const big = new Uint8Array(new BigInt64Array([1n << 40n]).buffer);
    expectFormatError(
      () => parseTorchCheckpoint(archive(tensorPickle({ size: [1], stride: [1], numel: 1, type: 'LongStorage' }), { 0: big })),
      'tensor "w"', /1099511627776 does not fit in int32/,
    );
  });

  it('a storage referenced with two different types is an error', () => {
    const pkl = pickleBytes(
      0x80, 2, 0x7d, 0x28,
      ...[['a', 'FloatStorage'], ['b', 'IntStorage']].flatMap(([k, type]) => [...pstr(k), ...pickleBytes(
        GLOBAL('torch._utils', '_rebuild_tensor_v2'), 0x28,
        0x28, pstr('storage'), GLOBAL('torch', type), pstr('0'), pstr('cpu'), int(1), 0x74, 0x51,
        int(0), tuple([1]), tuple([1]), 0x89, 0x29, 0x74, 0x52,
      )]),
      0x75, STOP,
    );
    expectFormatError(() => parseTorchCheckpoint(archive(pkl, { 0: f32bytes([1]) })), /storage "0" is referenced as FloatStorage\(1\) and as IntStorage\(1\)/);
  });
});
