"""Imports OpenAI's CLIP code from ../shared/reference/openai-clip for the CLIP fixture scripts.

simple_tokenizer imports ftfy, which Debian does not package: it is stood in with the identity (ftfy.fix_text
only repairs mojibake and NFC-normalises; finercam does not reproduce those repairs, see models/clip/tokenizer.ts).
Needs Debian's python3-regex, python3-tqdm, python3-pkg-resources besides python3-torch/torchvision/pil.
"""
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OPENAI = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'reference', 'openai-clip'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'clip')
BPE = os.path.join(OPENAI, 'clip', 'bpe_simple_vocab_16e6.txt.gz')

ftfy = types.ModuleType('ftfy')
ftfy.fix_text = lambda text: text  # identity stand-in, see the docstring
sys.modules.setdefault('ftfy', ftfy)
sys.path.insert(0, OPENAI)

from clip import clip as openai_clip  # noqa: E402
from clip import model as openai_model  # noqa: E402
from clip import simple_tokenizer  # noqa: E402

import json  # noqa: E402
import struct  # noqa: E402

import torch  # noqa: E402


def write_safetensors(path, tensors):
    """The safetensors format by hand (Debian has no safetensors package): u64 header length, JSON, data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dtype, data = 'F32', t.numpy().astype('<f4').tobytes()
        elif t.dtype in (torch.int64, torch.int32):
            dtype, data = 'I32', t.to(torch.int32).numpy().astype('<i4').tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
