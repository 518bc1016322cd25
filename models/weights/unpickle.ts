/**
 * A safe unpickler for PyTorch checkpoints (`data.pkl` in torch.save's zip format, and the pickles of the legacy
 * format). It interprets the pickle opcodes as a pure data stack machine and NEVER executes anything: the only
 * globals a pickle may reference are an allowlist whose behaviour is re-implemented here in TypeScript:
 *
 *   collections.OrderedDict                      → Map
 *   torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter / _rebuild_parameter_with_state
 *                                                → TorchTensorRef (storage, offset, size, stride)
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage, torch.UntypedStorage, and the same
 *   under torch.cuda                            → storage type markers used in persistent ids
 *   _codecs.encode(str, 'latin1')               → Uint8Array (how protocol 2 pickles `bytes`)
 *
 * Any other global (`os.system`, `posix.system`, `builtins.eval`, `__builtin__.getattr`, a model class, numpy, …)
 * is a WeightsFormatError naming it, raised when the GLOBAL opcode is read. With `{ unknownGlobals: 'stub' }` such
 * globals instead become inert `PyStub` placeholders (calling one just records the arguments), which lets a state
 * dict be extracted from a checkpoint that also pickles e.g. an argparse.Namespace; still nothing is executed.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53; integers longer than
 * MAX_LONG_BYTES are refused), float → number,
 * str → string, bytes/bytearray → Uint8Array, list → array, tuple → frozen array, dict → Map, set → Set.
 * Supported opcodes: protocols 2–5 binary opcodes (PROTO, FRAME, STOP, MARK, POP, POP_MARK, DUP, NONE, NEWTRUE,
 * NEWFALSE, BININT, BININT1, BININT2, LONG1, LONG4, BINFLOAT, BINUNICODE, SHORT_BINUNICODE, BINUNICODE8,
 * BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8, EMPTY_TUPLE, TUPLE, TUPLE1-3,
 * EMPTY_LIST, LIST, APPEND, APPENDS, EMPTY_DICT, DICT, SETITEM, SETITEMS, EMPTY_SET, ADDITEMS, FROZENSET,
 * BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET, GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, NEWOBJ_EX,
 * BINPERSID, PERSID). Protocol-0 text opcodes, INST/OBJ and EXT* are rejected with an error naming the opcode.
 */
import { PickleTruncatedError, WeightsFormatError } from './errors';
import { type StorageDType, describe } from './raw';

/** An allowlisted global (or, in stub mode, any global) referenced by the pickle. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Result of calling a non-allowlisted global in `unknownGlobals: 'stub'` mode. Inert data. */
export class PyStub {
  /** BUILD state (usually the instance __dict__). */
  state: unknown = undefined;
  /** Items added by SETITEM(S) (dict subclasses such as collections.defaultdict). */
  readonly dictItems = new Map<unknown, unknown>();
  /** Items added by APPEND(S) (list subclasses). */
  readonly listItems: unknown[] = [];
  constructor(readonly global: PyGlobal, readonly args: readonly unknown[], readonly kwargs?: unknown) {}
}

/** A storage referenced through a persistent id: `('storage', torch.FloatStorage, key, location, numel)`. */
export class TorchStorageRef {
  constructor(
    readonly key: string,
    readonly dtype: StorageDType,
    /** Number of elements of `dtype`. */
    readonly numel: number,
    readonly location: string,
    /** e.g. 'FloatStorage'. */
    readonly typeName: string,
  ) {}
}

/** A tensor rebuilt by `_rebuild_tensor_v2`: a strided view of a storage (offsets and strides in elements). */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    readonly storageOffset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    readonly isParameter = false,
  ) {}
}

export interface UnpickleOptions {
  /** 'error' (default): a non-allowlisted global is an error. 'stub': it becomes an inert PyStub. */
  unknownGlobals?: 'error' | 'stub';
  /**
   * Resolves BINPERSID/PERSID ids. Default: `torchPersistentLoad` (PyTorch storage tuples). Return value is pushed.
   */
  persistentLoad?: (pid: unknown) => unknown;
  /** Byte offset to start at (for files holding several pickles, as the legacy torch format does). */
  offset?: number;
}

export interface UnpickleResult {
  value: unknown;
  /** Offset just past the STOP opcode. */
  end: number;
}

const STORAGE_TYPES: Record<string, StorageDType> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8',
  ByteStorage: 'U8', BoolStorage: 'BOOL', UntypedStorage: 'U8',
};

const ALLOWED_FUNCTIONS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  '_codecs.encode',
]);

/** The storage dtype of an allowlisted storage-type global, or undefined. */
export function storageTypeOf(g: PyGlobal): StorageDType | undefined {
  if (g.module !== 'torch' && g.module !== 'torch.cuda') return undefined;
  return Object.prototype.hasOwnProperty.call(STORAGE_TYPES, g.name) ? STORAGE_TYPES[g.name] : undefined;
}

export function isAllowedGlobal(module: string, name: string): boolean {
  return ALLOWED_FUNCTIONS.has(`${module}.${name}`) || storageTypeOf(new PyGlobal(module, name)) !== undefined;
}

const ALLOWED_DESCRIPTION =
  'collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor, ' +
  'torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage, _codecs.encode';

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Default persistent_load: PyTorch's `('storage', storage_type, key, location, numel[, view_metadata])`. */
export function torchPersistentLoad(pid: unknown): TorchStorageRef {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new WeightsFormatError(`pickle: unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`);
  }
  const [, type, key, location, numel, view] = pid as unknown[];
  if (!(type instanceof PyGlobal) || storageTypeOf(type) === undefined) {
    throw new WeightsFormatError(`pickle: persistent id for storage ${describe(key)} has storage type ${type instanceof PyGlobal ? type.qualifiedName : describe(type)}, expected torch.*Storage`);
  }
  if (typeof key !== 'string' && !isNonNegInt(key)) throw new WeightsFormatError(`pickle: storage key ${describe(key)} is not a string`);
  if (!isNonNegInt(numel)) throw new WeightsFormatError(`pickle: storage "${key}" has element count ${describe(numel)}, expected a non-negative integer`);
  if (view !== undefined && view !== null) throw new WeightsFormatError(`pickle: storage "${key}" is a storage view (legacy view_metadata), which is not supported`);
  return new TorchStorageRef(String(key), storageTypeOf(type)!, numel, typeof location === 'string' ? location : String(location), type.name);
}

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/**
 * Largest LONG4 integer accepted, in bytes. Sizes, strides, offsets and step counts in checkpoints fit in 8 bytes
 * (the legacy format's magic number takes 10); 4 KiB (a 32768-bit integer) leaves room for any honest value while
 * a 32 MB integer is refused before it is converted.
 */
export const MAX_LONG_BYTES = 4096;

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Instance attributes set by BUILD on a dict (e.g. the `_metadata` of a state dict's OrderedDict). */
export const PY_ATTRIBUTES: unique symbol = Symbol('finercam.pickle.attributes');

/** The attributes a pickle attached to a dict with BUILD, if any. */
export function pyAttributes(obj: unknown): Map<unknown, unknown> | undefined {
  return obj instanceof Map ? (obj as Map<unknown, unknown> & { [PY_ATTRIBUTES]?: Map<unknown, unknown> })[PY_ATTRIBUTES] : undefined;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Parses one pickle from `bytes` (starting at `options.offset`). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): UnpickleResult {
  const stubMode = options.unknownGlobals === 'stub';
  const persistentLoad = options.persistentLoad ?? torchPersistentLoad;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = options.offset ?? 0;
  let opStart = pos;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8');

  const err = (msg: string): never => {
    throw new WeightsFormatError(`pickle: at byte ${opStart}: ${msg}`);
  };
  const need = (k: number): number => {
    if (!(k >= 0) || pos + k > n) {
      throw new PickleTruncatedError(`pickle: at byte ${opStart}: truncated (expected ${k} more bytes, ${n - pos} left)`);
    }
    const at = pos;
    pos += k;
    return at;
  };
  const u64 = (): number => {
    const at = need(8);
    const v = view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
    if (!Number.isSafeInteger(v)) err(`length ${v} is too large`);
    return v;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) err('stack underflow (corrupt pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) err('stack underflow (corrupt pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    if (!marks.length) err('no MARK on the stack (corrupt pickle)');
    return stack.splice(marks.pop()!);
  };
  const readLine = (): string => {
    const start = pos;
    const limit = Math.min(n, pos + 1024);
    while (pos < limit && bytes[pos] !== 0x0a) pos++;
    if (pos >= n) throw new PickleTruncatedError(`pickle: at byte ${opStart}: truncated (expected a newline-terminated name)`);
    if (bytes[pos] !== 0x0a) err('GLOBAL name longer than 1024 bytes');
    const s = utf8.decode(bytes.subarray(start, pos));
    pos++;
    return s;
  };
  const makeGlobal = (module: string, name: string): PyGlobal => {
    if (isAllowedGlobal(module, name) || stubMode) return new PyGlobal(module, name);
    return err(
      `global '${module}.${name}' is not allowed; nothing was executed. Only ${ALLOWED_DESCRIPTION} may be referenced ` +
        `(pass { unknownGlobals: 'stub' } to load it as an inert placeholder)`,
    );
  };
  const decodeLong = (at: number, len: number): number | bigint => {
    if (len === 0) return 0;
    if (len <= 6) {
      let v = 0;
      for (let i = len - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
      if (bytes[at + len - 1] & 0x80) v -= 2 ** (8 * len);
      return v;
    }
    // One table lookup per byte and a single join keep this linear (string += per byte was quadratic in practice).
    const digits = new Array<string>(len);
    for (let i = 0; i < len; i++) digits[i] = HEX_BYTE[bytes[at + len - 1 - i]];
    let v = BigInt(`0x${digits.join('')}`);
    if (bytes[at + len - 1] & 0x80) v -= 1n << BigInt(8 * len);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);
  const call = (fn: unknown, args: unknown, kwargs?: unknown): unknown => {
    if (!Array.isArray(args)) err(`REDUCE arguments must be a tuple, got ${describe(args)}`);
    const a = args as unknown[];
    if (fn instanceof PyGlobal) {
      const q = fn.qualifiedName;
      if (!isAllowedGlobal(fn.module, fn.name)) return new PyStub(fn, a, kwargs);
      switch (q) {
        case 'collections.OrderedDict': {
          const m = new Map<unknown, unknown>();
          if (a.length === 0) return m;
          if (a.length === 1 && Array.isArray(a[0])) {
            for (const kv of a[0] as unknown[]) {
              if (!Array.isArray(kv) || kv.length !== 2) err('collections.OrderedDict: expected (key, value) pairs');
              m.set((kv as unknown[])[0], (kv as unknown[])[1]);
            }
            return m;
          }
          if (a.length === 1 && a[0] instanceof Map) return new Map(a[0]);
          return err(`collections.OrderedDict: unsupported arguments ${describe(a)}`);
        }
        case 'torch._utils._rebuild_tensor_v2':
        case 'torch._utils._rebuild_tensor':
          return rebuildTensor(q, a);
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state': {
          const [data, requiresGrad] = a;
          if (!(data instanceof TorchTensorRef)) return err(`${q}: expected a tensor as first argument, got ${describe(data)}`);
          return new TorchTensorRef(data.storage, data.storageOffset, data.size, data.stride, requiresGrad === true, true);
        }
        case '_codecs.encode': {
          const [s, enc] = a;
          if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) err(`_codecs.encode: only (str, 'latin1') is supported, got ${describe(a)}`);
          const out = new Uint8Array((s as string).length);
          for (let i = 0; i < out.length; i++) {
            const c = (s as string).charCodeAt(i);
            if (c > 255) err('_codecs.encode: character outside latin1');
            out[i] = c;
          }
          return out;
        }
        default:
          return err(`${q} is a type marker and cannot be called`);
      }
    }
    return err(`cannot call ${describe(fn)} (only allowlisted globals are callable)`);
  };
  const rebuildTensor = (q: string, a: unknown[]): TorchTensorRef => {
    const [storage, offset, size, stride, requiresGrad] = a;
    if (!(storage instanceof TorchStorageRef)) return err(`${q}: expected a storage as first argument, got ${describe(storage)}`);
    if (!isNonNegInt(offset)) return err(`${q}: storage offset ${describe(offset)} is not a non-negative integer`);
    if (!Array.isArray(size) || !size.every(isNonNegInt)) return err(`${q}: size ${describe(size)} is not a tuple of non-negative integers`);
    if (!Array.isArray(stride) || stride.length !== size.length || !stride.every(isNonNegInt)) {
      return err(`${q}: stride ${describe(stride)} does not match size ${describe(size)} (expected ${size.length} non-negative integers)`);
    }
    return new TorchTensorRef(storage, offset, (size as number[]).slice(), (stride as number[]).slice(), requiresGrad === true);
  };

  for (;;) {
    opStart = pos;
    const op = bytes[need(1)];
    switch (op) {
      case 0x80: { // PROTO
        const v = bytes[need(1)];
        if (v > 5) err(`unsupported pickle protocol ${v} (expected ≤ 5)`);
        break;
      }
      case 0x95: // FRAME: an 8-byte length we do not need
        need(8);
        break;
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(bytes[need(1)]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: { // LONG1
        const len = bytes[need(1)];
        stack.push(decodeLong(need(len), len));
        break;
      }
      case 0x8b: { // LONG4
        const len = view.getInt32(need(4), true);
        if (len < 0) err(`LONG4 with negative length ${len}`);
        if (len > MAX_LONG_BYTES) {
          err(`LONG4 integer of ${len} bytes is larger than the ${MAX_LONG_BYTES}-byte limit (checkpoints hold integers of at most 8 bytes; this file is corrupt or hostile)`);
        }
        stack.push(decodeLong(need(len), len));
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: { const len = view.getUint32(need(4), true); stack.push(utf8.decode(bytes.subarray(need(len), pos))); break; } // BINUNICODE
      case 0x8c: { const len = bytes[need(1)]; stack.push(utf8.decode(bytes.subarray(need(len), pos))); break; } // SHORT_BINUNICODE
      case 0x8d: { const len = u64(); stack.push(utf8.decode(bytes.subarray(need(len), pos))); break; } // BINUNICODE8
      case 0x54: { // BINSTRING
        const len = view.getInt32(need(4), true);
        if (len < 0) err(`BINSTRING with negative length ${len}`);
        stack.push(latin1(bytes.subarray(need(len), pos)));
        break;
      }
      case 0x55: { const len = bytes[need(1)]; stack.push(latin1(bytes.subarray(need(len), pos))); break; } // SHORT_BINSTRING
      case 0x42: { const len = view.getUint32(need(4), true); stack.push(new Uint8Array(bytes.subarray(need(len), pos))); break; } // BINBYTES
      case 0x43: { const len = bytes[need(1)]; stack.push(new Uint8Array(bytes.subarray(need(len), pos))); break; } // SHORT_BINBYTES
      case 0x8e: case 0x96: { const len = u64(); stack.push(new Uint8Array(bytes.subarray(need(len), pos))); break; } // BINBYTES8, BYTEARRAY8
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); stack.push(tuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) err('DICT with an odd number of items');
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x61: { // APPEND
        const v = pop();
        const list = top();
        if (list instanceof PyStub) list.listItems.push(v);
        else if (!Array.isArray(list) || Object.isFrozen(list)) err(`APPEND to ${describe(list)}, expected a list`);
        else list.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!(list instanceof PyStub) && (!Array.isArray(list) || Object.isFrozen(list))) err(`APPENDS to ${describe(list)}, expected a list`);
        const target = list instanceof PyStub ? list.listItems : (list as unknown[]);
        for (const it of items) target.push(it);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) err(`ADDITEMS to ${describe(set)}, expected a set`);
        for (const it of items) (set as Set<unknown>).add(it);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        const d = top();
        if (!(d instanceof Map) && !(d instanceof PyStub)) err(`SETITEM on ${describe(d)}, expected a dict`);
        (d instanceof PyStub ? d.dictItems : (d as Map<unknown, unknown>)).set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        if (!(d instanceof Map) && !(d instanceof PyStub)) err(`SETITEMS on ${describe(d)}, expected a dict`);
        if (items.length % 2) err('SETITEMS with an odd number of items');
        const target = d instanceof PyStub ? d.dictItems : (d as Map<unknown, unknown>);
        for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: memo.set(bytes[need(1)], top()); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const idx = op === 0x68 ? bytes[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(idx)) err(`memo key ${idx} was never stored (corrupt pickle)`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        const name = readLine();
        stack.push(makeGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') err('STACK_GLOBAL expects two strings');
        stack.push(makeGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, kwargs));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyStub) obj.state = state;
        else if (obj instanceof Map) {
          // A state dict's OrderedDict carries `_metadata` (per-module versions) this way; torch's loading rules
          // depend on it. Python's BUILD state is the instance dict, or (dict, slots).
          const attrs = state instanceof Map ? state : Array.isArray(state) && state[0] instanceof Map ? state[0] : undefined;
          if (attrs) {
            Object.defineProperty(obj, PY_ATTRIBUTES, { value: attrs, enumerable: false, configurable: true, writable: true });
          }
        } else if (obj instanceof TorchTensorRef) {
          // Tensor attributes (e.g. a Parameter's __dict__): not needed.
        } else err(`BUILD on ${describe(obj)} is not supported`);
        break;
      }
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x50: stack.push(persistentLoad(readLine())); break; // PERSID
      default:
        err(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}${OPNAMES[op] ? ` (${OPNAMES[op]})` : ''}`);
    }
  }
}
