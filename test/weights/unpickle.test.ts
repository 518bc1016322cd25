import { describe, expect, it } from 'vitest';
import {
  PickleTruncatedError, PyGlobal, PyStub, TorchStorageRef, TorchTensorRef, WeightsFormatError, ZipArchive,
  isAllowedGlobal, unpickle,
} from '../../models/weights';
import { EXPECTED, expectFormatError, fixture, pickleBytes, pstr } from './helpers';

/** The tagged JSON form the fixture script writes for Python values. */
function tagged(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { $int: v.toString() };
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $float: String(v) };
  if (v instanceof Uint8Array) return { $bytes: Array.from(v) };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { $tuple: v.map(tagged) } : v.map(tagged);
  if (v instanceof Set) return { $set: [...v].map(tagged).sort() };
  if (v instanceof Map) return { $dict: [...v].map(([k, x]) => [tagged(k), tagged(x)]) };
  throw new Error(`unexpected ${String(v)}`);
}

const STOP = 0x2e;
const PROTO2 = [0x80, 2];
const GLOBAL = (module: string, name: string) => pickleBytes(0x63, `${module}\n${name}\n`);

describe('unpickle: Python values', () => {
  for (const protocol of [2, 4, 5]) {
    it(`decodes a protocol ${protocol} pickle of every basic type exactly`, () => {
      const bytes = fixture(`values_p${protocol}.pkl`);
      const { value, end } = unpickle(bytes);
      expect(end).toBe(bytes.length);
      expect(tagged(value)).toEqual(EXPECTED[`values_p${protocol}.pkl`]);
    });
  }

  it('keeps shared references shared (memo) and tuples frozen, lists mutable', () => {
    const { value } = unpickle(fixture('values_p2.pkl'));
    const m = value as Map<string, unknown>;
    const shared = m.get('shared') as unknown[][];
    expect(shared[0]).toBe(shared[1]);
    expect(Object.isFrozen(m.get('tuple'))).toBe(true);
    expect(Object.isFrozen(m.get('list'))).toBe(false);
  });

  it('parses several pickles back to back from an offset', () => {
    const one = pickleBytes(...PROTO2, 0x4b, 7, STOP);
    const two = pickleBytes(...PROTO2, pstr('x'), STOP);
    const both = new Uint8Array([...one, ...two]);
    const a = unpickle(both);
    expect(a).toEqual({ value: 7, end: one.length });
    expect(unpickle(both, { offset: a.end }).value).toBe('x');
  });

  it('builds a self-referencing list without looping', () => {
    // EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP
    const { value } = unpickle(pickleBytes(...PROTO2, 0x5d, 0x71, 0, 0x68, 0, 0x61, STOP));
    expect((value as unknown[])[0]).toBe(value);
  });
});

describe('unpickle: torch data.pkl', () => {
  it('rebuilds tensor references with storage, offset, size and stride', () => {
    const zip = new ZipArchive(fixture('views.pth'));
    const { value } = unpickle(zip.read('views/data.pkl'));
    const m = value as Map<string, TorchTensorRef>;
    expect([...m.keys()]).toEqual(['base', 'transposed', 'slice', 'row', 'step', 'expanded', 'half_t', 'long_col']);
    const t = m.get('transposed')!;
    expect(t).toBeInstanceOf(TorchTensorRef);
    expect(t.size).toEqual([4, 3]);
    expect(t.stride).toEqual([1, 4]);
    expect(t.storage).toBeInstanceOf(TorchStorageRef);
    expect(t.storage).toMatchObject({ dtype: 'F32', numel: 12, location: 'cpu', typeName: 'FloatStorage' });
    expect(m.get('base')!.storage.key).toBe(t.storage.key); // shared storage
    expect(m.get('slice')).toMatchObject({ storageOffset: 5, size: [2, 2], stride: [4, 1] });
    expect(m.get('expanded')).toMatchObject({ size: [3, 2], stride: [0, 1] });
    expect(m.get('long_col')!.storage.dtype).toBe('I64');
  });

  it('rebuilds nn.Parameter through _rebuild_parameter', () => {
    const zip = new ZipArchive(fixture('params.pth'));
    const m = unpickle(zip.read('params/data.pkl')).value as Map<string, TorchTensorRef>;
    expect(m.get('w')).toMatchObject({ isParameter: true, requiresGrad: true, size: [2, 2] });
    expect(m.get('frozen')).toMatchObject({ isParameter: true, requiresGrad: false });
  });
});

describe('unpickle: globals are allowlisted and nothing is executed', () => {
  const dangerous: [string, string][] = [
    ['os', 'system'], ['posix', 'system'], ['nt', 'system'], ['builtins', 'eval'], ['builtins', 'exec'],
    ['__builtin__', 'eval'], ['builtins', 'getattr'], ['__builtin__', 'set'], ['subprocess', 'Popen'],
    ['torch', 'load'], ['torch.hub', 'load'], ['torch._utils', '_rebuild_tensor_v2x'], ['collections', 'OrderedDict2'],
    ['torch', 'FloatStorage.__init__'], ['numpy.core.multiarray', '_reconstruct'],
  ];
  for (const [module, name] of dangerous) {
    it(`rejects GLOBAL ${module}.${name}, naming it`, () => {
      expect(isAllowedGlobal(module, name)).toBe(false);
      const bytes = pickleBytes(...PROTO2, GLOBAL(module, name), pstr('echo pwned'), 0x85, 0x52, STOP);
      expectFormatError(() => unpickle(bytes), `global '${module}.${name}' is not allowed`, /nothing was executed/);
    });
  }

  it('rejects STACK_GLOBAL os.system (protocol 4 form)', () => {
    const bytes = pickleBytes(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, 0x8c, 2, 'id', 0x85, 0x52, STOP);
    expectFormatError(() => unpickle(bytes), "global 'os.system' is not allowed");
  });

  it('rejects the malicious checkpoint written by Python (os.system in data.pkl)', () => {
    const zip = new ZipArchive(fixture('malicious.pth'));
    expectFormatError(() => unpickle(zip.read('archive/data.pkl')), `global '${EXPECTED['malicious.pth'].global}' is not allowed`);
  });

  it('rejects a disallowed global hidden inside a tensor rebuild', () => {
    const bytes = pickleBytes(
      ...PROTO2, GLOBAL('torch._utils', '_rebuild_tensor_v2'), 0x28, GLOBAL('builtins', 'eval'), pstr('1+1'), 0x85, 0x52,
      0x4b, 0, 0x29, 0x29, 0x89, 0x74, 0x52, STOP,
    );
    expectFormatError(() => unpickle(bytes), "global 'builtins.eval' is not allowed");
  });

  it("stub mode turns unknown globals into inert PyStub data", () => {
    const bytes = pickleBytes(...PROTO2, GLOBAL('os', 'system'), pstr('echo pwned'), 0x85, 0x52, 0x7d, 0x62, STOP);
    const v = unpickle(bytes, { unknownGlobals: 'stub' }).value as PyStub;
    expect(v).toBeInstanceOf(PyStub);
    expect(v.global).toEqual(new PyGlobal('os', 'system'));
    expect(v.args).toEqual(['echo pwned']);
    expect(v.state).toBeInstanceOf(Map);
  });

  it('allowlisted type markers cannot be called, and non-callables cannot be REDUCEd', () => {
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, GLOBAL('torch', 'FloatStorage'), 0x29, 0x52, STOP)), /torch.FloatStorage is a type marker/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, pstr('os.system'), 0x29, 0x52, STOP)), /cannot call "os.system"/);
  });

  it('validates _rebuild_tensor_v2 arguments', () => {
    const call = (...args: (number | string | Uint8Array)[]) =>
      unpickle(pickleBytes(...PROTO2, GLOBAL('torch._utils', '_rebuild_tensor_v2'), 0x28, ...args, 0x74, 0x52, STOP));
    expectFormatError(() => call(0x4b, 1, 0x4b, 0, 0x29, 0x29), /_rebuild_tensor_v2: expected a storage/);
    const storage = pickleBytes(0x28, pstr('storage'), GLOBAL('torch', 'FloatStorage'), pstr('0'), pstr('cpu'), 0x4b, 4, 0x74, 0x51);
    expect(call(storage, 0x4b, 0, 0x4b, 2, 0x4b, 2, 0x86, 0x4b, 2, 0x4b, 1, 0x86, 0x89).value).toBeInstanceOf(TorchTensorRef);
    expectFormatError(() => call(storage, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x29, 0x29), /storage offset -1/);
    expectFormatError(() => call(storage, 0x4b, 0, 0x4b, 2, 0x85, 0x29), /stride \[\] does not match size \[2\]/);
    const badPid = pickleBytes(0x28, pstr('storage'), GLOBAL('torch', 'FloatStorage'), pstr('0'), pstr('cpu'), pstr('x'), 0x74, 0x51);
    expectFormatError(() => call(badPid, 0x4b, 0, 0x29, 0x29), /storage "0" has element count "x"/);
    const notStorage = pickleBytes(0x28, pstr('module'), 0x4e, 0x74, 0x51);
    expectFormatError(() => call(notStorage), /unsupported persistent id/);
  });
});

describe('unpickle: malformed pickles', () => {
  it('truncated input is a PickleTruncatedError', () => {
    const bytes = fixture('values_p2.pkl');
    for (const cut of [0, 1, 2, 40, bytes.length - 1]) {
      const e = expectFormatError(() => unpickle(bytes.subarray(0, cut)), /truncated/);
      expect(e).toBeInstanceOf(PickleTruncatedError);
    }
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x58, 0xff, 0xff, 0xff, 0x7f, 'ab')), /expected 2147483647 more bytes/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x63, 'os')), /newline-terminated/);
  });

  it('unsupported opcodes are named', () => {
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x69, 'os\nsystem\n', STOP)), /unsupported opcode 0x69 \(INST\)/);
    expectFormatError(() => unpickle(pickleBytes(0x49, '1\n', STOP)), /0x49 \(INT\)/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x82, 1, STOP)), /EXT1/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0xff)), /unsupported opcode 0xff/);
    expectFormatError(() => unpickle(pickleBytes(0x80, 6, 0x4e, STOP)), /protocol 6/);
  });

  it('stack, mark and memo errors', () => {
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, STOP)), /stack underflow/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x4e, 0x28, STOP)), /stack underflow/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x74, STOP)), /no MARK/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x68, 3, STOP)), /memo key 3 was never stored/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x29, 0x4e, 0x61, STOP)), /APPEND to .* expected a list/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x5d, 0x4e, 0x4e, 0x73, STOP)), /SETITEM on .* expected a dict/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x7d, 0x28, 0x4e, 0x75, STOP)), /odd number/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, pstr('s'), 0x7d, 0x62, STOP)), /BUILD on "s"/);
    expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x8b, 0xff, 0xff, 0xff, 0xff, STOP)), /negative length/);
  });

  it('errors carry the byte offset and are WeightsFormatErrors', () => {
    const e = expectFormatError(() => unpickle(pickleBytes(...PROTO2, 0x4e, 0x4e, 0xff)), /at byte 4/);
    expect(e).toBeInstanceOf(WeightsFormatError);
    expect(e).toBeInstanceOf(Error);
  });
});
