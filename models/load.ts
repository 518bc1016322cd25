// Weight files → Tensors. The format code (models/weights/) works on raw typed arrays; this file wraps
// the results into CPU tensors ready for Module.loadStateDict, and turns tensors back into files.
import { Tensor } from '../core/tensor';
import { tensor } from '../core/ops/creation';
import type { RawTensor } from './weights/raw';
import {
  parseSafetensors, readSafetensorsFile, serializeSafetensors, parseTorchCheckpoint, readTorchCheckpointFile,
} from './weights/index';

export type StateDict = Record<string, Tensor>;

function toTensor(name: string, r: RawTensor): Tensor {
  switch (r.dtype) {
    case 'float32':
      return tensor(r.data, r.shape, { device: 'cpu' });
    case 'int32':
      return tensor(r.data, r.shape, { dtype: 'int32', device: 'cpu' });
    case 'bool':
      return tensor(Int32Array.from(r.data), r.shape, { dtype: 'int32', device: 'cpu' });
    default:
      throw new Error(`weights: tensor '${name}' has dtype ${r.dtype}, which cannot become a Tensor`);
  }
}

function toStateDict(raw: Record<string, RawTensor>): StateDict {
  const out: StateDict = {};
  for (const [k, r] of Object.entries(raw)) out[k] = toTensor(k, r);
  return out;
}

/** Reads a .safetensors file (bytes, or a path in Node; large files are read by ranges). F16/BF16 → float32. */
export async function loadSafetensors(source: Uint8Array | string): Promise<StateDict> {
  const file = typeof source === 'string' ? await readSafetensorsFile(source) : parseSafetensors(checkBytes(source, 'loadSafetensors'));
  return toStateDict(file.tensors);
}

/** The metadata map of a .safetensors file (e.g. the normalisation a probe was trained with). */
export async function loadSafetensorsMetadata(source: Uint8Array | string): Promise<Record<string, string>> {
  const file = typeof source === 'string' ? await readSafetensorsFile(source) : parseSafetensors(checkBytes(source, 'loadSafetensorsMetadata'));
  return file.metadata;
}

/** Reads a PyTorch .pth/.pt checkpoint with the safe unpickler (tensors, dicts, lists, numbers only). */
export async function loadTorchCheckpoint(source: Uint8Array | string): Promise<StateDict> {
  const raw = typeof source === 'string' ? await readTorchCheckpointFile(source) : parseTorchCheckpoint(checkBytes(source, 'loadTorchCheckpoint'));
  return toStateDict(raw);
}

/** Serialises tensors (any device) to safetensors bytes: float32 as F32, int32 as I32. */
export async function saveSafetensors(dict: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  if (dict === null || typeof dict !== 'object') throw new TypeError('saveSafetensors: expected an object of tensors');
  const raw: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(dict)) {
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors: '${k}' is not a Tensor`);
    const data = await t.data();
    if (data instanceof Int32Array) raw[k] = { dtype: 'int32', shape: [...t.shape], data };
    else raw[k] = { dtype: 'float32', shape: [...t.shape], data: data instanceof Float32Array ? data : Float32Array.from(data) };
  }
  return serializeSafetensors(raw, metadata);
}

function checkBytes(b: unknown, op: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array or a file path, got ${b === null ? 'null' : typeof b}`);
  return b;
}
