// Module.loadStateDict follows torch 1.13's load_state_dict rules; the expected outcomes (accepted or not, missing
// and unexpected keys in torch's order, values after loading) were recorded by torch itself:
// /usr/bin/python3 test/reference/make_loading_fixtures.py writes test/fixtures/weights/loading/.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { parseTorchCheckpoint, parseTorchCheckpointFull } from '../../models/weights';

const DIR = new URL('../fixtures/weights/loading/', import.meta.url);
const bytes = (name: string) => new Uint8Array(readFileSync(new URL(name, DIR)));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const EXPECTED: any = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8'));
const NBT = ['0.1.num_batches_tracked', '1.num_batches_tracked'];

/** The fixtures' model, Sequential(Sequential(Conv2d(2, 3, 1), BatchNorm2d(3)), BatchNorm2d(3)), with
 * num_batches_tracked preset to 5 as the reference script presets it (torch's fill writes 0, it does not keep). */
function model(): F.Module {
  const m = new F.Sequential(new F.Sequential(new F.Conv2d(2, 3, 1), new F.BatchNorm2d(3)), new F.BatchNorm2d(3));
  const sd = m.stateDict();
  for (const k of NBT) m.loadStateDict({ ...sd, [k]: F.tensor([5], [], { dtype: 'int32' }) });
  return m;
}

/** The torch model's values (expected.json 'source') as tensors, keyed as torch keys them. */
function sourceDict(drop: string[] = []): Record<string, F.Tensor> {
  const out: Record<string, F.Tensor> = {};
  for (const [k, v] of Object.entries(EXPECTED.source as Record<string, number[]>)) {
    if (drop.includes(k)) continue;
    const shape = model().stateDict()[k].shape;
    out[k] = k.endsWith('num_batches_tracked') ? F.tensor(v, shape, { dtype: 'int32' }) : F.tensor(v, shape);
  }
  return out;
}

async function valuesOf(m: F.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(m.stateDict())) out[k] = Array.from(await t.data());
  return out;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** Checks a load against torch's outcome for the same dict: strict result, non-strict keys, values after. */
async function expectTorchOutcome(dict: Record<string, F.Tensor>, name: string): Promise<void> {
  const want = EXPECTED.cases[name];
  const m = model();
  if (want.strict_ok) {
    m.loadStateDict(dict);
    expect(await valuesOf(m)).toEqual(want.after);
  } else {
    const msg = errorOf(() => m.loadStateDict(dict));
    if (want.missing.length) expect(msg).toContain(`${want.missing.length} missing key(s): ${want.missing.join(', ')}`);
    if (want.unexpected.length) expect(msg).toContain(`unexpected key(s): ${want.unexpected.slice(0, 5).join(', ')}`);
  }
  const r = model().loadStateDict(dict, { strict: false });
  expect(r.missingKeys).toEqual(want.missing);
  expect(r.unexpectedKeys).toEqual(want.unexpected);
}

describe('loadStateDict follows torch 1.13 (fixtures recorded by torch)', () => {
  test('num_batches_tracked may be absent from a dict without versions: it becomes 0, as in torch', async () => {
    await expectTorchOutcome(sourceDict(NBT), 'no_nbt_plain'); // built by hand
    await expectTorchOutcome(await F.loadSafetensors(bytes('no_nbt.safetensors')), 'no_nbt_plain');
    await expectTorchOutcome(await F.loadTorchCheckpoint(bytes('no_nbt_plain.pth')), 'no_nbt_plain');
  });

  test("a .pth whose _metadata says version 2 still needs num_batches_tracked, module by module", async () => {
    expect(EXPECTED.cases.no_nbt_meta.strict_ok).toBe(false);
    await expectTorchOutcome(await F.loadTorchCheckpoint(bytes('no_nbt_meta.pth')), 'no_nbt_meta');
    // the inner BatchNorm recorded as version 1 gets the fill, the outer (version 2) is missing
    await expectTorchOutcome(await F.loadTorchCheckpoint(bytes('no_nbt_meta_v1.pth')), 'no_nbt_meta_v1');
    // the versions come from the OrderedDict's _metadata that torch.save pickled
    const { versions } = parseTorchCheckpointFull(bytes('no_nbt_meta_v1.pth'));
    expect([versions.get(''), versions.get('0.1'), versions.get('1')]).toEqual([1, 1, 2]);
  });

  test('a 1-element 1-D tensor loads into a scalar buffer; a longer one is a size mismatch', async () => {
    const dict = sourceDict();
    dict['0.1.num_batches_tracked'] = F.tensor([7], [1], { dtype: 'int32' });
    await expectTorchOutcome(dict, 'nbt_vector');
    // torch silently takes element 0 of [7, 8]; a value that cannot be one scalar is refused here
    dict['0.1.num_batches_tracked'] = F.tensor([7, 8], [2], { dtype: 'int32' });
    expect(errorOf(() => model().loadStateDict(dict))).toMatch(/0\.1\.num_batches_tracked: checkpoint \[2\] vs model \[\]/);
  });

  test("torch's strict check: keys past a parameter or naming a module pass, others are unexpected in torch's order", async () => {
    const dict = sourceDict();
    (EXPECTED.odd_keys as string[]).forEach((k, i) => {
      Object.defineProperty(dict, k, { value: F.tensor([i]), enumerable: true, configurable: true, writable: true });
    });
    expect(Object.keys(dict)).toContain('__proto__');
    await expectTorchOutcome(dict, 'odd_keys');
    // the same as a Map
    const m = model();
    const r = m.loadStateDict(new Map(Object.keys(dict).map((k) => [k, Object.getOwnPropertyDescriptor(dict, k)!.value])), { strict: false });
    expect(r.unexpectedKeys).toEqual(EXPECTED.cases.odd_keys.unexpected);
  });

  test('a wrapped DataParallel checkpoint is unwrapped, its _metadata versions with it (as torch after consume_prefix)', async () => {
    const dict = await F.loadTorchCheckpoint(bytes('wrapped_dataparallel.pth'));
    const want = EXPECTED.cases.wrapped_dataparallel_unwrapped;
    expect(want.missing).toEqual(['0.1.num_batches_tracked']);
    const msg = errorOf(() => model().loadStateDict(dict));
    expect(msg).toContain("under 'state_dict.module.'");
    expect(msg).toContain('1 missing key(s): 0.1.num_batches_tracked');
    // unwrapped by the loader instead: the versions are re-keyed with the tensors, and torch's outcome is the same
    const selected = await F.loadTorchCheckpoint(bytes('wrapped_dataparallel.pth'), { select: 'state_dict', stripPrefix: 'module.' });
    expect(Object.keys(selected)).toContain('0.0.weight');
    await expectTorchOutcome(selected, 'wrapped_dataparallel_unwrapped');
    // without the versions (a dict rebuilt by hand from the same tensors) torch's fill applies and it loads
    const plain: Record<string, F.Tensor> = {};
    for (const k of Object.keys(dict)) plain[k] = dict[k];
    const m = model();
    expect(m.loadStateDict(plain).prefix).toBe('state_dict.module.');
    const after = await valuesOf(m);
    expect(after['0.1.num_batches_tracked']).toEqual([0]);
    const { ['0.1.num_batches_tracked']: _, ...rest } = after;
    const { ['0.1.num_batches_tracked']: __, ...restTorch } = EXPECTED.source as Record<string, number[]>;
    expect(rest).toEqual(restTorch);
  });
});

describe('loadStateDict: wrapped checkpoints and the mismatch summary', () => {
  test.each([['module.'], ['model.'], ['state_dict.'], ['model_state_dict.'], ['model.module.']])('keys under %s are unwrapped', async (prefix) => {
    const dict: Record<string, F.Tensor> = {};
    for (const [k, t] of Object.entries(sourceDict())) dict[prefix + k] = t;
    dict[`${prefix.split('.')[0]}_epoch`] = F.tensor([3]); // a sibling of the wrapper, as training scripts save
    const m = model();
    expect(m.loadStateDict(dict).prefix).toBe(prefix);
    expect(await valuesOf(m)).toEqual(EXPECTED.source);
  });

  test('two wrappers that both fit are ambiguous: the error names them and the option that picks one', () => {
    const dict: Record<string, F.Tensor> = {};
    for (const [k, t] of Object.entries(sourceDict())) {
      dict[`model.${k}`] = t;
      dict[`state_dict.${k}`] = t;
    }
    const msg = errorOf(() => model().loadStateDict(dict));
    expect(msg).toMatch(/'model\.' and 'state_dict\.' all fit this model; pick one with loadStateDict\(dict, \{ prefix: 'model\.' \}\)/);
    const m = model();
    expect(m.loadStateDict(dict, { prefix: 'state_dict.' }).prefix).toBe('state_dict.');
  });

  test('keys under another prefix are found and the error says how to load them', () => {
    const dict: Record<string, F.Tensor> = {};
    for (const [k, t] of Object.entries(sourceDict())) dict[`teacher.backbone.${k}`] = t;
    dict['teacher.head.weight'] = F.zeros([2]);
    const msg = errorOf(() => model().loadStateDict(dict));
    expect(msg).toMatch(/hint: the keys under 'teacher\.backbone\.' fit this model: load them with loadStateDict\(dict, \{ prefix: 'teacher\.backbone\.' \}\)/);
  });

  test('another architecture: counts and the first five keys of each kind, not every name', () => {
    F.manualSeed(1);
    const r18 = F.resnet({ block: 'basic', layers: [2, 2, 2, 2], widths: [4, 4, 4, 4], numClasses: 3 });
    const msg = errorOf(() => r18.loadStateDict(sourceDict()));
    const own = Object.keys(r18.stateDict());
    // every num_batches_tracked is filled (the dict has no versions), so it is not missing
    const missing = own.filter((k) => !k.endsWith('num_batches_tracked')).length;
    expect(msg).toContain(`the model has ${own.length} parameters and buffers, the state dict 12 entries`);
    expect(msg).toContain(`${missing} missing key(s): conv1.weight, bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var, … and ${missing - 5} more`);
    expect(msg).toContain(`12 unexpected key(s): ${Object.keys(sourceDict()).slice(0, 5).join(', ')}, … and 7 more`);
    expect(msg).toMatch(/hint: the state dict's keys start with: 0\. \(7\), 1\. \(5\)/);
    expect(msg.length).toBeLessThan(1000);
    expect(msg.split('\n').length).toBeLessThan(10);
  });

  test('bad arguments are named, and nothing is copied unless everything can be', async () => {
    const m = model();
    expect(() => m.loadStateDict(null as never)).toThrow(/loadStateDict: expected an object or a Map of tensors \(a state dict\), got null/);
    expect(() => m.loadStateDict(F.zeros([1]) as never)).toThrow(/got an object \(Tensor\)/);
    expect(() => m.loadStateDict({}, { prefix: '' })).toThrow(/expected prefix to be a non-empty string/);
    expect(() => m.loadStateDict({}, { strict: 'yes' as never })).toThrow(/expected strict to be a boolean/);
    const disposed = sourceDict();
    disposed['0.0.bias'].dispose();
    const w0 = Array.from(await m.stateDict()['0.0.weight'].data());
    expect(w0).not.toEqual(EXPECTED.source['0.0.weight']);
    expect(errorOf(() => m.loadStateDict(disposed))).toMatch(/1 value\(s\) that cannot be loaded: 0\.0\.bias \(a disposed Tensor\)/);
    // refused before anything was copied: 0.0.weight (before 0.0.bias in the dict) keeps its value
    expect(Array.from(await m.stateDict()['0.0.weight'].data())).toEqual(w0);
    expect(errorOf(() => m.loadStateDict({ ...sourceDict(), '0.0.weight': 3 as never }))).toMatch(/1 value\(s\) that cannot be loaded: 0\.0\.weight \(got number\)/);
  });
});

describe('tensors named like JavaScript object members (__proto__, constructor, hasOwnProperty)', () => {
  const want = EXPECTED.proto_names as Record<string, number[]>;

  async function expectOrdinaryKeys(sd: Record<string, F.Tensor>, expected: Record<string, number[]>) {
    expect(Object.keys(sd).sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) {
      const t = Object.getOwnPropertyDescriptor(sd, k)?.value;
      expect(t, k).toBeInstanceOf(F.Tensor);
      expect(Array.from(await (t as F.Tensor).data()), k).toEqual(expected[k]);
    }
    expect(Object.getPrototypeOf(sd)).toBe(null);
  }

  test('load as ordinary keys from .pth (flat and nested) and safetensors', async () => {
    expect(Object.keys(want)).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'hasOwnProperty']));
    await expectOrdinaryKeys(await F.loadTorchCheckpoint(bytes('proto_names.pth')), want);
    await expectOrdinaryKeys(await F.loadSafetensors(bytes('proto_names.safetensors')), want);
    await expectOrdinaryKeys(await F.loadTorchCheckpoint(bytes('proto_nested.pth')), EXPECTED.proto_nested);
    const raw = parseTorchCheckpoint(bytes('proto_names.pth'));
    expect(Object.keys(raw).sort()).toEqual(Object.keys(want).sort());
  });

  test('survive a safetensors round trip and the Hugging Face renaming', async () => {
    const sd = await F.loadTorchCheckpoint(bytes('proto_names.pth'));
    await expectOrdinaryKeys(await F.loadSafetensors(await F.saveSafetensors(sd)), want);
    await expectOrdinaryKeys(F.fromHfDinov2(sd), want);
  });

  test('are unexpected keys of a model that has no such parameter', () => {
    const sd = sourceDict();
    const dict = Object.create(null) as Record<string, F.Tensor>;
    for (const k of Object.keys(sd)) dict[k] = sd[k];
    // on an object without prototype these assignments create ordinary own keys
    for (const k of ['constructor', 'hasOwnProperty', '__proto__']) dict[k] = F.zeros([1]);
    expect(Object.keys(dict).slice(-3)).toEqual(['constructor', 'hasOwnProperty', '__proto__']);
    const r = model().loadStateDict(dict, { strict: false });
    expect(r.unexpectedKeys).toEqual(['constructor', 'hasOwnProperty', '__proto__']);
    // a missing key is missing even when an object member of that name exists
    const m = model();
    expect(m.loadStateDict({ ...sourceDict() }).missingKeys).toEqual([]);
  });
});
