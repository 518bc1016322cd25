#!/usr/bin/python3
"""Writes test/fixtures/weights/loading/: state dicts that exercise torch 1.13's load_state_dict rules, and what torch
does with each (expected.json). Run with Debian's python3 (torch 1.13):

    /usr/bin/python3 test/reference/make_loading_fixtures.py

The model is Sequential(Sequential(Conv2d(2, 3, 1), BatchNorm2d(3)), BatchNorm2d(3)); test/weights/loading.test.ts
builds the same module in finercam. Rules recorded here (torch/nn/modules/module.py and batchnorm.py):
- _NormBase._load_from_state_dict: when the module's version in state_dict._metadata is missing or < 2, an absent
  num_batches_tracked is filled with tensor(0) (so a dict without _metadata never misses it); at version 2 it is a
  missing key.
- Module._load_from_state_dict: a 1-D tensor loads into a 0-D parameter/buffer (input_param[0]); in strict mode a key
  is unexpected only where a part names neither a child module nor a parameter/buffer of the module reached.
Also: tensors named like JavaScript object members, in .pth and safetensors form, and pickled big integers.
Everything is tiny and deterministic (fixed seed; torch.save's zip has fixed timestamps).
"""
import collections
import json
import os
import pickle
import struct

import torch
import torch.nn as nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'weights', 'loading')
os.makedirs(OUT, exist_ok=True)
NBT = ['0.1.num_batches_tracked', '1.num_batches_tracked']


def model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)), nn.BatchNorm2d(3))
    # non-trivial values everywhere, so a test can tell copied values from initial ones
    with torch.no_grad():
        for i, (k, t) in enumerate(m.state_dict().items()):
            if t.dtype == torch.long:
                t.fill_(10 + i)
            else:
                t.copy_(torch.arange(t.numel(), dtype=t.dtype).reshape(t.shape) * 0.25 + i)
    return m


def fresh():
    """A model to load into, with num_batches_tracked preset to 5 (torch's fill sets 0, not 'leave as is')."""
    torch.manual_seed(1)
    m = nn.Sequential(nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)), nn.BatchNorm2d(3))
    for k in NBT:
        m.get_submodule(k.rsplit('.', 1)[0]).num_batches_tracked.fill_(5)
    return m


def values(sd):
    return {k: t.reshape(-1).tolist() for k, t in sd.items()}


def outcome(sd):
    """What torch does with sd: strict result (ok / error text), non-strict missing/unexpected keys, values after."""
    res = {}
    m = fresh()
    try:
        m.load_state_dict(sd, strict=True)
        res['strict_ok'] = True
        res['after'] = values(m.state_dict())
    except RuntimeError as e:
        res['strict_ok'] = False
        res['error'] = str(e)
    r = fresh().load_state_dict(sd, strict=False)
    res['missing'] = list(r.missing_keys)
    res['unexpected'] = list(r.unexpected_keys)
    return res


def drop(sd, keys):
    """sd without keys, keeping its _metadata (as deleting from a torch state dict does)."""
    out = collections.OrderedDict((k, v) for k, v in sd.items() if k not in keys)
    if hasattr(sd, '_metadata'):
        out._metadata = sd._metadata
    return out


def write_safetensors(path, tensors):
    header, data = {}, b''
    for k, t in tensors.items():
        b = t.detach().contiguous().numpy().tobytes()
        dt = {torch.float32: 'F32', torch.int64: 'I64'}[t.dtype]
        header[k] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)


def main():
    src = model()
    full = src.state_dict()  # carries _metadata: version 2 for both BatchNorms
    expected = {'source': values(full), 'cases': {}}
    cases = expected['cases']

    # 1. num_batches_tracked absent, no _metadata (a safetensors file, a dict built by hand): torch fills 0
    plain = collections.OrderedDict((k, v) for k, v in full.items() if k not in NBT)
    assert not hasattr(plain, '_metadata')
    torch.save(plain, os.path.join(OUT, 'no_nbt_plain.pth'))
    write_safetensors(os.path.join(OUT, 'no_nbt.safetensors'), plain)
    cases['no_nbt_plain'] = outcome(plain)

    # 2. the same with the _metadata state_dict() recorded (version 2): missing keys
    with_meta = drop(full, NBT)
    torch.save(with_meta, os.path.join(OUT, 'no_nbt_meta.pth'))
    cases['no_nbt_meta'] = outcome(with_meta)

    # 3. per-module versions: the inner BatchNorm recorded as version 1 (an old checkpoint), the outer as 2
    v1 = drop(full, NBT)
    v1._metadata = collections.OrderedDict((k, dict(v)) for k, v in full._metadata.items())
    v1._metadata['0.1']['version'] = 1
    torch.save(v1, os.path.join(OUT, 'no_nbt_meta_v1.pth'))
    cases['no_nbt_meta_v1'] = outcome(v1)

    # 4. a DataParallel checkpoint under 'state_dict' with _metadata, unwrapped the way torch documents:
    #    consume_prefix_in_state_dict_if_present strips the keys and means to strip the _metadata entries too
    #    ('module.0.1' -> '0.1', 'module' -> ''); 1.13 tests `"_metadata" in state_dict` (a key, never there),
    #    so that part is done here as later torch releases do it.
    dp = nn.DataParallel(model()).state_dict()
    dp = drop(dp, ['module.' + k for k in NBT[:1]])
    torch.save({'state_dict': dp, 'epoch': 3}, os.path.join(OUT, 'wrapped_dataparallel.pth'))
    unwrapped = drop(dp, [])
    unwrapped._metadata = collections.OrderedDict(dp._metadata)
    consume_prefix_in_state_dict_if_present(unwrapped, 'module.')
    for key in list(unwrapped._metadata.keys()):
        if key:
            unwrapped._metadata[key[len('module.'):]] = unwrapped._metadata.pop(key)
    cases['wrapped_dataparallel_unwrapped'] = outcome(unwrapped)

    # 5. a 1-element 1-D num_batches_tracked (torch 0.3 saved scalars so)
    vec = collections.OrderedDict(full)
    vec['0.1.num_batches_tracked'] = torch.tensor([7])
    cases['nbt_vector'] = outcome(vec)

    # 6. keys torch's strict check lets through or reports, including JavaScript member names
    odd = collections.OrderedDict(full)
    extra = ['0.0.weight.extra', '0', '0.1', '0.0.bias.x.y', 'foo', '0.foo', '1.running_mean2', '',
             '__proto__', 'constructor', 'hasOwnProperty', '0.__proto__', '0.0.constructor']
    for i, k in enumerate(extra):
        odd[k] = torch.full((1,), float(i))
    expected['odd_keys'] = extra
    cases['odd_keys'] = outcome(odd)

    # 7. tensors named like members of JavaScript objects
    proto = collections.OrderedDict()
    for i, k in enumerate(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__']):
        proto[k] = torch.arange(3, dtype=torch.float32) + 10 * i
    torch.save(proto, os.path.join(OUT, 'proto_names.pth'))
    torch.save({'__proto__': {'constructor': proto['constructor']}, 'hasOwnProperty': proto['hasOwnProperty']},
               os.path.join(OUT, 'proto_nested.pth'))
    write_safetensors(os.path.join(OUT, 'proto_names.safetensors'), proto)
    expected['proto_names'] = values(proto)
    expected['proto_nested'] = {'__proto__.constructor': proto['constructor'].tolist(),
                                'hasOwnProperty': proto['hasOwnProperty'].tolist()}

    # 8. big integers: Python pickles ints of 256 bytes and more with LONG4
    ints = [2 ** 4000, -(2 ** 4000) + 12345, -(2 ** 2047), 2 ** 64 - 1, -1, 2 ** 53, 255 << 2040]
    with open(os.path.join(OUT, 'bigints.pkl'), 'wb') as f:
        f.write(pickle.dumps(ints, protocol=2))
    expected['bigints'] = [str(v) for v in ints]

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
