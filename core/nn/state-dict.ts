// The state-dict side of Module.loadStateDict (core/nn/module.ts): reading a dict or Map safely, torch's
// per-module versions, wrapper prefixes a training script adds, the copy into a parameter, and the short
// summaries an error shows. Module keeps the walk over its own parameters and buffers (planLoad).
import { Tensor, StorageRef } from '../tensor';
import { cast } from '../ops/elementwise';

export function copyValues(dst: Tensor, src: Tensor, key: string): void {
  const s = src.dtype === dst.dtype ? src : cast(src, dst.dtype);
  if (s.backend === dst.backend) {
    const copy = dst.backend.unary('copy', s);
    dst.replaceStorage(new StorageRef(copy));
    return;
  }
  if (s.device !== 'cpu') {
    throw new Error(`loadStateDict: '${key}' is on ${s.device} but the module is on ${dst.device}; move the state dict to the CPU first`);
  }
  // CPU storages expose their array synchronously: upload it to the module's device.
  const data = (s.backend.unary('copy', s) as unknown as { data: Float32Array }).data;
  dst.replaceStorage(new StorageRef(dst.backend.upload(data)));
}

// ------------------------------------------------------------ loadStateDict helpers

/** A state dict: an object (as the loaders return) or a Map of tensors. */
export type StateDictInput = Record<string, Tensor> | Map<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
  /** The wrapper prefix whose keys were loaded ('' when the keys were used as they are). */
  prefix?: string;
}

/**
 * Where the loaders put the versions torch.save recorded per module (a state dict's `_metadata`): module path →
 * version. A dict without it behaves as torch's dicts without `_metadata` do.
 */
export const STATE_DICT_VERSIONS: unique symbol = Symbol('finercam.stateDictVersions');

/** Checkpoint wrappers that training scripts add (DataParallel's 'module.', {'model': sd}, {'state_dict': sd}, …). */
export const WRAPPER_PREFIXES = [
  'module.', 'model.', 'state_dict.', 'model_state_dict.',
  'model.module.', 'state_dict.module.', 'model_state_dict.module.', 'module.model.',
];

export interface LoadPlan {
  /** A null source means "fill with 0" (BatchNorm's num_batches_tracked). */
  copies: [string, Tensor, Tensor | null][];
  missing: string[];
  unexpected: string[];
  badShape: string[];
  notTensor: string[];
  fits: boolean;
  /** Parameters and buffers of the model. */
  own: number;
  /** Entries in the (unwrapped) dict. */
  seen: number;
  /** Keys of the model found in the dict (fills not counted). */
  matched: number;
}

export function stateDictEntries(dict: unknown): Map<string, unknown> {
  if (dict instanceof Map) {
    for (const k of dict.keys()) if (typeof k !== 'string') throw new TypeError(`loadStateDict: expected the Map's keys to be strings, got ${typeof k}`);
    return dict as Map<string, unknown>;
  }
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict) || dict instanceof Tensor) {
    throw new TypeError(`loadStateDict: expected an object or a Map of tensors (a state dict), got ${describeValue(dict)}`);
  }
  // Own keys only, read as own properties: names such as '__proto__' or 'constructor' are ordinary keys here.
  const out = new Map<string, unknown>();
  for (const k of Object.keys(dict)) out.set(k, Object.getOwnPropertyDescriptor(dict, k)!.value);
  return out;
}

export function versionsOf(dict: unknown): Map<string, number> | undefined {
  const v = (dict as { [STATE_DICT_VERSIONS]?: unknown })[STATE_DICT_VERSIONS];
  return v instanceof Map ? (v as Map<string, number>) : undefined;
}

export function hasKeyUnder(entries: Map<string, unknown>, prefix: string): boolean {
  for (const k of entries.keys()) if (k.startsWith(prefix)) return true;
  return false;
}

export function underPrefix(entries: Map<string, unknown>, prefix: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of entries) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/** Versions of the modules under a key prefix, re-keyed like the keys (module 'module' of prefix 'module.' is the root). */
export function subVersions(versions: Map<string, number> | undefined, prefix: string): Map<string, number> | undefined {
  if (!versions || !prefix) return versions;
  const out = new Map<string, number>();
  for (const [path, v] of versions) {
    const dotted = path === '' ? '' : `${path}.`;
    if (dotted.startsWith(prefix)) out.set(dotted.slice(prefix.length).replace(/\.$/, ''), v);
  }
  return out;
}

const FIRST_FEW = 5;

export function firstFew(items: string[], sep = ', '): string {
  const head = items.slice(0, FIRST_FEW).join(sep);
  return items.length > FIRST_FEW ? `${head}${sep}… and ${items.length - FIRST_FEW} more` : head;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'no prototype'})`;
  return typeof v;
}
