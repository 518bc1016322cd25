#!/usr/bin/python3
"""Writes the weight-format fixtures in test/fixtures/weights/ and their expected values (expected.json).

Run with Debian's python3 (torch 1.13): /usr/bin/python3 test/reference/make_weight_fixtures.py
Safetensors files are written by hand following the format spec (there is no `safetensors` package here):
8-byte little-endian header length, JSON header (padded with spaces to a multiple of 8), data.
Everything is tiny (a few KB) and deterministic, except the legacy file's storage keys (Python object ids).
"""
import argparse
import collections
import io
import json
import math
import os
import pickle
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'weights')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

ST_DTYPE = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL',
}
OUT_DTYPE = {'F64': 'float32', 'F32': 'float32', 'F16': 'float32', 'BF16': 'float32', 'I64': 'int32', 'I32': 'int32',
             'I16': 'int32', 'I8': 'int32', 'U8': 'int32', 'BOOL': 'bool'}


def enc(x):
    if isinstance(x, float) and not math.isfinite(x):
        return 'NaN' if math.isnan(x) else ('Infinity' if x > 0 else '-Infinity')
    return x


def expect(t):
    """Expected RawTensor for a torch tensor: output dtype, source dtype, shape, row-major values."""
    sd = ST_DTYPE[t.dtype]
    c = t.detach().contiguous().reshape(-1)
    if sd in ('F64', 'F32', 'F16', 'BF16'):
        vals = c.float().tolist()  # F64 rounds to float32 like the reader does
    elif sd == 'BOOL':
        vals = c.int().tolist()
    else:
        vals = c.tolist()
    return {'dtype': OUT_DTYPE[sd], 'sourceDtype': sd, 'shape': list(t.shape), 'values': [enc(v) for v in vals]}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Reference layout: tensors sorted by dtype size (descending) then name; header padded with spaces."""
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    data = b''
    for k in order:
        b = raw_bytes(tensors[k])
        header[k] = {'dtype': ST_DTYPE[tensors[k].dtype], 'shape': list(tensors[k].shape),
                     'data_offsets': [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)


def basic_tensors():
    return {
        'f32': torch.tensor([[0.5, -1.25, 3.0], [-0.0, 1e-3, 123456.789]], dtype=torch.float32),
        'f16': torch.tensor([1.0, -2.5, 65504.0, 2.0 ** -24, float('nan'), float('-inf')], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -3.140625, 1e30, 0.0], dtype=torch.bfloat16),
        'f64': torch.tensor([[0.1, 1e300], [-2.5, 1.0 / 3.0]], dtype=torch.float64),
        'i64': torch.tensor([-5, 0, 2147483647, -2147483648], dtype=torch.int64),
        'i32': torch.tensor([[1, -2], [2147483647, -2147483648]], dtype=torch.int32),
        'i16': torch.tensor([-32768, 7, 32767], dtype=torch.int16),
        'i8': torch.tensor([-128, 0, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 200, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, False, True]),
        'scalar': torch.tensor(7.5),
        'empty': torch.zeros(0, 3),
        'weight.with.dots': torch.arange(4, dtype=torch.float32).reshape(2, 2),
    }


def linear_state_dict():
    lin = torch.nn.Linear(4, 3)
    return lin.state_dict()  # OrderedDict with _metadata, weight [3,4], bias [3]


def tagged(v):
    """JSON form of a Python value that the TS tests rebuild from the unpickler's output."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) <= 2 ** 53 - 1 else {'$int': str(v)}
    if isinstance(v, float):
        return enc(v) if math.isfinite(v) else {'$float': enc(v)}
    if isinstance(v, (bytes, bytearray)):
        return {'$bytes': list(v)}
    if isinstance(v, tuple):
        return {'$tuple': [tagged(x) for x in v]}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return {'$set': sorted(tagged(x) for x in v)}
    if isinstance(v, dict):
        return {'$dict': [[tagged(k), tagged(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def pickle_values(protocol):
    shared = [1, 2]
    v = collections.OrderedDict([
        ('int', 1), ('neg', -1), ('i16', 40000), ('i32', -2 ** 31), ('big', 2 ** 40), ('huge', 2 ** 100),
        ('neg_huge', -2 ** 100 + 7), ('float', 0.1), ('inf', float('-inf')), ('str', 'h\u00e9llo \u2603'),
        ('long_str', 'x' * 300), ('bytes', b'\x00\x01\xff'), ('list', [1, [2, 3], []]), ('tuple', (1, 'a')),
        ('tuples', ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4))), ('none', None), ('true', True), ('false', False),
        ('shared', [shared, shared]), ('dict', {1: 'one', 'two': 2.0, (3, 4): None}),
    ])
    if protocol >= 4:
        v['set'] = {1, 2}
        v['frozenset'] = frozenset(['a'])
    if protocol >= 5:
        v['bytearray'] = bytearray(b'ab')
    return v


class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /tmp/finercam-pwned',))


def main():
    expected = {}

    # --- safetensors -------------------------------------------------------------------------------------------
    basic = basic_tensors()
    write_safetensors(os.path.join(OUT, 'basic.safetensors'), basic, {'format': 'pt', 'note': 'hand-written'})
    expected['basic.safetensors'] = {'tensors': {k: expect(v) for k, v in basic.items()},
                                     'metadata': {'format': 'pt', 'note': 'hand-written'}}
    big = {'big': torch.tensor([2 ** 40, -3], dtype=torch.int64)}
    write_safetensors(os.path.join(OUT, 'int64_big.safetensors'), big)
    expected['int64_big.safetensors'] = {'bigint': ['1099511627776', '-3']}
    lin_sd = linear_state_dict()
    write_safetensors(os.path.join(OUT, 'linear.safetensors'), dict(lin_sd))
    expected['linear.safetensors'] = {'tensors': {k: expect(v) for k, v in lin_sd.items()}, 'metadata': {}}

    # --- torch.save zip format -----------------------------------------------------------------------------------
    torch.save(basic, os.path.join(OUT, 'basic.pth'))
    expected['basic.pth'] = {'tensors': {k: expect(v) for k, v in basic.items()}}

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    half = torch.arange(6, dtype=torch.float16).reshape(2, 3)
    views = collections.OrderedDict([
        ('base', base),
        ('transposed', base.t()),                  # non-contiguous, shares base's storage
        ('slice', base[1:, 1:3]),                  # storage offset 5, strides (4, 1)
        ('row', base[2]),                          # storage offset 8, contiguous
        ('step', base.reshape(-1)[1::5]),          # stride 5
        ('expanded', torch.tensor([1.0, 2.0]).expand(3, 2)),  # stride 0
        ('half_t', half.t()),                      # F16 transposed
        ('long_col', torch.arange(6, dtype=torch.int64).reshape(3, 2)[:, 1]),
    ])
    torch.save(views, os.path.join(OUT, 'views.pth'))
    expected['views.pth'] = {'tensors': {k: expect(v) for k, v in views.items()}}

    torch.save(lin_sd, os.path.join(OUT, 'linear.pth'))
    expected['linear.pth'] = {'tensors': {k: expect(v) for k, v in lin_sd.items()}}

    prefixed = collections.OrderedDict(('module.' + k, v) for k, v in lin_sd.items())
    nested = {
        'epoch': 7, 'arch': 'vit_small', 'best_acc1': 0.75, 'flag': True, 'nothing': None,
        'blob': b'\x00\xffab', 'huge': 2 ** 70, 'negative': -123456789012,
        'state_dict': prefixed,
        'extra': {'deeper': {'t': torch.tensor([1, 2, 3], dtype=torch.int32)}, 'list': [torch.tensor([0.25]), 5]},
    }
    torch.save(nested, os.path.join(OUT, 'nested.pth'))
    expected['nested.pth'] = {
        'tensors': {**{'state_dict.' + k: expect(v) for k, v in prefixed.items()},
                    'extra.deeper.t': expect(nested['extra']['deeper']['t']),
                    'extra.list.0': expect(nested['extra']['list'][0])},
        'values': {'epoch': 7, 'arch': 'vit_small', 'best_acc1': 0.75, 'flag': True, 'nothing': None,
                   'blob': [0, 255, 97, 98], 'huge': str(2 ** 70), 'negative': -123456789012, 'extra.list.1': 5},
    }

    params = {'w': torch.nn.Parameter(torch.tensor([[1.5, -2.0], [0.0, 4.0]])),
              'frozen': torch.nn.Parameter(torch.tensor([3.0]), requires_grad=False)}
    torch.save(params, os.path.join(OUT, 'params.pth'))
    expected['params.pth'] = {'tensors': {k: expect(v) for k, v in params.items()}}

    single = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).t()
    torch.save(single, os.path.join(OUT, 'single_tensor.pth'))
    expected['single_tensor.pth'] = {'tensors': {'': expect(single)}}

    stub = {'args': argparse.Namespace(lr=0.1, arch='resnet50'), 'model': lin_sd}
    torch.save(stub, os.path.join(OUT, 'namespace.pth'))
    expected['namespace.pth'] = {'tensors': {'model.' + k: expect(v) for k, v in lin_sd.items()}}

    dd = collections.defaultdict(list, {'w': torch.tensor([1.0, 2.0]), 'epoch': 3})
    torch.save({'sd': dd}, os.path.join(OUT, 'defaultdict.pth'))
    expected['defaultdict.pth'] = {'tensors': {'sd.w': expect(dd['w'])}}

    # --- legacy (non-zip) format ----------------------------------------------------------------------------------
    legacy = collections.OrderedDict([('base', base), ('transposed', base.t()), ('long', torch.tensor([4, -4])),
                                      ('half', half)])
    torch.save(legacy, os.path.join(OUT, 'legacy.pth'), _use_new_zipfile_serialization=False)
    expected['legacy.pth'] = {'tensors': {k: expect(v) for k, v in legacy.items()}}

    # --- the zip format re-compressed with deflate -----------------------------------------------------------------
    src = zipfile.ZipFile(os.path.join(OUT, 'linear.pth'))
    with zipfile.ZipFile(os.path.join(OUT, 'linear_deflated.pth'), 'w', compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_TIME), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    expected['linear_deflated.pth'] = expected['linear.pth']

    # --- a malicious checkpoint: data.pkl calls os.system ------------------------------------------------------------
    evil = pickle.dumps({'weight': Evil()}, protocol=2)
    assert b'system' in evil
    with zipfile.ZipFile(os.path.join(OUT, 'malicious.pth'), 'w') as z:
        z.writestr(zipfile.ZipInfo('archive/data.pkl', date_time=FIXED_TIME), evil)
        z.writestr(zipfile.ZipInfo('archive/version', date_time=FIXED_TIME), '3\n')
    expected['malicious.pth'] = {'global': pickle.dumps(os.system, protocol=2)[3:].split(b'\n')[0].decode() + '.system'}

    # --- plain pickles of Python values, for the unpickler ---------------------------------------------------------
    for protocol in (2, 4, 5):
        v = pickle_values(protocol)
        with open(os.path.join(OUT, f'values_p{protocol}.pkl'), 'wb') as f:
            f.write(pickle.dumps(v, protocol=protocol))
        expected[f'values_p{protocol}.pkl'] = tagged(v)

    # Sanity: torch itself reads our files back the same.
    for name in ('basic.pth', 'views.pth', 'linear_deflated.pth', 'legacy.pth'):
        torch.load(os.path.join(OUT, name))

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')
    for name in sorted(os.listdir(OUT)):
        print(f'{os.path.getsize(os.path.join(OUT, name)):7d}  {name}')


if __name__ == '__main__':
    main()
