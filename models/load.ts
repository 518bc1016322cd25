// Weight files → Tensors. The format code (models/weights/) works on raw typed arrays; this file wraps
// the results into CPU tensors ready for Module.loadStateDict, and turns tensors back into files.
// Keys come from files, so every dict built here has no prototype and is filled with own properties: a tensor
// named '__proto__', 'constructor' or 'hasOwnProperty' is an ordinary key.
import { Tensor } from '../core/tensor';
import { tensor } from '../core/ops/creation';
import { STATE_DICT_VERSIONS } from '../core/nn/module';
import type { RawTensor } from './weights/raw';
import {
  parseSafetensors, readSafetensorsFile, readSafetensorsHeader, serializeSafetensors, parseTorchCheckpointFull,
  readTorchCheckpointFileFull, bytesSource, type TorchLoadOptions,
} from './weights/index';
import { setOwn } from './weights/safetensors';
import { withFileSource } from './weights/source';

export type StateDict = Record<string, Tensor>;

/** Which part of a checkpoint to read (see TorchLoadOptions): e.g. `{ select: 'model' }`, `{ stripPrefix: 'module.' }`. */
export type TorchCheckpointOptions = Pick<TorchLoadOptions, 'select' | 'stripPrefix'>;

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

function toStateDict(raw: Record<string, RawTensor>, versions?: Map<string, number>): StateDict {
  const out: StateDict = Object.create(null);
  for (const k of Object.keys(raw)) setOwn(out, k, toTensor(k, raw[k]));
  // torch's load_state_dict reads the versions a .pth recorded; loadStateDict finds them here.
  if (versions && versions.size) Object.defineProperty(out, STATE_DICT_VERSIONS, { value: versions, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Reads a .safetensors file (bytes, or a path in Node; large files are read by ranges). F16/BF16 → float32. */
export async function loadSafetensors(source: WeightsSource): Promise<StateDict> {
  source = await blobBytes(source);
  const file = typeof source === 'string' ? await readSafetensorsFile(source) : parseSafetensors(checkBytes(source, 'loadSafetensors'));
  return toStateDict(file.tensors);
}

/**
 * The metadata map of a .safetensors file (e.g. the normalisation a probe was trained with). Reads and checks the
 * header only: no tensor is decoded.
 */
export async function loadSafetensorsMetadata(source: WeightsSource): Promise<Record<string, string>> {
  source = await blobBytes(source);
  const header = typeof source === 'string'
    ? await withFileSource(source, readSafetensorsHeader)
    : await readSafetensorsHeader(bytesSource(checkBytes(source, 'loadSafetensorsMetadata')));
  return header.metadata;
}

/**
 * Reads a PyTorch .pth/.pt checkpoint with the safe unpickler (tensors, dicts, lists, numbers only). Nested
 * checkpoints are flattened into dotted keys ('model.fc.weight'); `select`/`stripPrefix` take a part of them.
 */
export async function loadTorchCheckpoint(source: WeightsSource, options: TorchCheckpointOptions = {}): Promise<StateDict> {
  source = await blobBytes(source);
  if (options === null || typeof options !== 'object') throw new TypeError('loadTorchCheckpoint: expected options to be an object');
  const opts: TorchLoadOptions = { select: options.select, stripPrefix: options.stripPrefix };
  const ckpt = typeof source === 'string' ? await readTorchCheckpointFileFull(source, opts) : parseTorchCheckpointFull(checkBytes(source, 'loadTorchCheckpoint'), opts);
  return toStateDict(ckpt.tensors, ckpt.versions);
}

/** Serialises tensors (any device) to safetensors bytes: float32 as F32, int32 as I32. */
export async function saveSafetensors(dict: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  if (dict === null || typeof dict !== 'object') throw new TypeError('saveSafetensors: expected an object of tensors');
  const raw: Record<string, RawTensor> = Object.create(null);
  for (const k of Object.keys(dict)) {
    const t = Object.getOwnPropertyDescriptor(dict, k)!.value as unknown;
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors: '${k}' is not a Tensor`);
    const data = await t.data();
    if (data instanceof Int32Array) setOwn(raw, k, { dtype: 'int32', shape: [...t.shape], data });
    else setOwn(raw, k, { dtype: 'float32', shape: [...t.shape], data: data instanceof Float32Array ? data : Float32Array.from(data) });
  }
  return serializeSafetensors(raw, metadata);
}

function checkBytes(b: unknown, op: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array, a File/Blob or a file path, got ${b === null ? 'null' : typeof b}`);
  return b;
}

/** A weight file as bytes, a path (Node) or a File/Blob (a browser's file picker or drop). */
export type WeightsSource = Uint8Array | string | Blob;

/** A Blob's bytes (read whole: browser weight files fit in memory), anything else unchanged. */
async function blobBytes(source: WeightsSource): Promise<Uint8Array | string> {
  return typeof Blob !== 'undefined' && source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : (source as Uint8Array | string);
}
