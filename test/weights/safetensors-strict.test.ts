// safetensors headers are read as strictly as the reference implementation reads them
// (huggingface/safetensors, safetensors/src/tensor.rs: `serde_json::from_str::<HashMetadata>` where HashMetadata is
// `{ #[serde(rename = "__metadata__")] metadata: Option<HashMap<String, String>>, #[serde(flatten)] tensors:
// HashMap<String, TensorInfo> }` and TensorInfo is `{ dtype, shape: Vec<usize>, data_offsets: (usize, usize) }`):
// serde_json refuses a byte order mark, a usize written as 2.0 / 2e0 / -0, a struct field given twice
// (`__metadata__`, `dtype`, …) and an unpaired surrogate escape; it accepts surrounding whitespace,
// `"__metadata__": null` and unknown fields. Duplicated tensor names and metadata keys, which the reference keeps
// the last of silently, are refused here: which one is meant is ambiguous.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { WeightsFormatError, parseSafetensors } from '../../models/weights';
import { concat, expectFormatError, makeSafetensors, utf8 } from './helpers';

const T = '"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
const ok = (header: string, data = 4) => makeSafetensors(header, data);

describe('safetensors header strictness (as the reference implementation)', () => {
  test('a UTF-8 byte order mark before the header is refused', () => {
    const h = concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8(`{${T}}`));
    const file = new Uint8Array(8 + h.length + 4);
    new DataView(file.buffer).setUint32(0, h.length, true);
    file.set(h, 8);
    expectFormatError(() => parseSafetensors(file), /header starts with a UTF-8 byte order mark/);
  });

  test.each([
    ['2.0 in a shape', '{"t":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', /tensor "t": expected shape to be an array of non-negative integers \(no fraction or exponent\), got \[1\.0\]/],
    ['an exponent in a shape', '{"t":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', /got \[1e0\]/],
    ['-0 in a shape', '{"t":{"dtype":"F32","shape":[-0, 1],"data_offsets":[0,0]}}', /got \[-0,1\]/],
    ['4.0 in data_offsets', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', /tensor "t": expected data_offsets to be \[begin, end\] with non-negative integers \(no fraction or exponent\), got \[0,4\.0\]/],
    ['0.0 in data_offsets', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4]}}', /got \[0\.0,4\]/],
  ])('%s is refused', (_what, header, pattern) => {
    expectFormatError(() => parseSafetensors(ok(header)), pattern);
  });

  test('a duplicated __metadata__ is refused', () => {
    expectFormatError(
      () => parseSafetensors(ok(`{"__metadata__":{"a":"1"},${T},"__metadata__":{"a":"2"}}`)),
      /the header holds __metadata__ twice/,
    );
  });

  test('duplicated tensor names, entry fields and metadata keys are refused', () => {
    // the duplicate would tile the data region exactly, so only the duplicate check can catch it
    expectFormatError(() => parseSafetensors(ok(`{${T},${T}}`)), /tensor "t": the header names this tensor twice/);
    expectFormatError(
      () => parseSafetensors(ok('{"t":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}')),
      /tensor "t": duplicate field "dtype"/,
    );
    expectFormatError(() => parseSafetensors(ok(`{"__metadata__":{"norm":"a","norm":"b"},${T}}`)), /__metadata__ holds the key "norm" twice/);
  });

  test('an unpaired surrogate escape and nesting beyond 128 levels are refused', () => {
    expectFormatError(() => parseSafetensors(ok('{"t\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')), /not valid JSON .*unpaired surrogate/);
    const deep = (n: number) => `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${'['.repeat(n)}${']'.repeat(n)}}}`;
    expect(Object.keys(parseSafetensors(ok(deep(120))).tensors)).toEqual(['t']);
    expectFormatError(() => parseSafetensors(ok(deep(200))), /nested deeper than 128 levels/);
  });

  test('what the reference accepts still loads: whitespace, null metadata, unknown fields, escapes, many tensors', () => {
    const r = parseSafetensors(ok(` \n{"__metadata__":null, "t\\u00e9\\ud83d\\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"a":[1.5,-2e3,null,true]}}}\t `));
    expect(Object.keys(r.tensors)).toEqual(['té😀']);
    expect(Object.keys(r.metadata)).toEqual([]);
    const parts: string[] = [];
    for (let i = 0; i < 5000; i++) parts.push(`"w${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`);
    expect(Object.keys(parseSafetensors(ok(`{${parts.join(',')}}`, 5000)).tensors).length).toBe(5000);
  });
});

describe('loadSafetensorsMetadata reads the header only', () => {
  // The tensor holds 2^40 as I64, which decoding to int32 refuses: reading the metadata must not decode it.
  const header = '{"__metadata__":{"norm":"imagenet"},"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}';
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigInt64(0, 2n ** 40n, true);
  const file = makeSafetensors(header, data);

  test('from bytes and from a path, without decoding any tensor', async () => {
    await expect(F.loadSafetensors(file)).rejects.toBeInstanceOf(WeightsFormatError);
    expect({ ...(await F.loadSafetensorsMetadata(file)) }).toEqual({ norm: 'imagenet' });
    const dir = mkdtempSync(join(tmpdir(), 'finercam-st-'));
    try {
      const path = join(dir, 'm.safetensors');
      writeFileSync(path, file);
      expect({ ...(await F.loadSafetensorsMetadata(path)) }).toEqual({ norm: 'imagenet' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('still validates the header', async () => {
    await expect(F.loadSafetensorsMetadata(makeSafetensors(`{"__metadata__":{"a":"1"},"__metadata__":{}}`))).rejects.toThrow(/__metadata__ twice/);
    await expect(F.loadSafetensorsMetadata(makeSafetensors(header, 4))).rejects.toThrow(/extend past the 4-byte data region/);
  });
});
