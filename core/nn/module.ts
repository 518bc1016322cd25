// Module: parameters, buffers and child modules under PyTorch's state_dict names, plus forward hooks.
// Children and tensors are registered explicitly (addModule / addParameter / addBuffer) with the exact
// dotted names torchvision, timm and DINOv2 use, so their checkpoints load without renaming.
import { Tensor } from '../tensor';
import { StorageRef } from '../tensor';
import type { HookHandle } from '../tensor';
import { fmtShape, shapesEqual } from '../shape';
import { getBackend, type DeviceName } from '../device';
import { keep } from '../scope';
import { noGrad } from '../grad-mode';
import {
  WRAPPER_PREFIXES, copyValues, describeValue, firstFew, hasKeyUnder, stateDictEntries, subVersions, underPrefix, versionsOf,
  type LoadPlan, type StateDictInput, type LoadResult,
} from './state-dict';
export { STATE_DICT_VERSIONS, type StateDictInput, type LoadResult } from './state-dict';

/** A forward hook sees the module, its inputs and its output; returning a tensor replaces the output. */
export type ForwardHook = (module: Module, inputs: unknown[], output: Tensor) => Tensor | void;

export interface LoadOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
  /** Load only the keys under this prefix, with it removed (e.g. 'model.', 'teacher.backbone.'). */
  prefix?: string;
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();
  private readonly _forwardHooks: ForwardHook[] = [];
  private _hooked = false;
  /** Set by dispose(): how this module is named in the error every later use throws. */
  private _disposedAs: string | null = null;

  abstract forward(...inputs: unknown[]): Tensor;

  // ------------------------------------------------------------ registration

  protected addModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, 'addModule');
    if (!(module instanceof Module)) throw new TypeError(`addModule: '${name}' must be a Module`);
    this._modules.set(name, module);
    return module;
  }

  protected addParameter(name: string, t: Tensor | null, requiresGrad = true): Tensor | null {
    this.checkName(name, 'addParameter');
    if (t) {
      keep(t);
      if (requiresGrad && t.dtype !== 'int32') t.requiresGrad = true;
    }
    this._parameters.set(name, t);
    return t;
  }

  protected addBuffer(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name, 'addBuffer');
    if (t) keep(t);
    this._buffers.set(name, t);
    return t;
  }

  private checkName(name: string, what: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new TypeError(`${what}: name must be a non-empty string without dots, got ${JSON.stringify(name)}`);
    }
  }

  // ------------------------------------------------------------ traversal

  /** Direct children in registration order. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }

  /** Every module in the tree with its dotted name ('' for this one), in PyTorch's order. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, m] of this.namedModules(prefix)) {
      m.assertNotDisposed('parameters');
      for (const [p, t] of m._parameters) if (t) out.push([name ? `${name}.${p}` : p, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, m] of this.namedModules(prefix)) {
      m.assertNotDisposed('buffers');
      for (const [b, t] of m._buffers) if (t) out.push([name ? `${name}.${b}` : b, t]);
    }
    return out;
  }

  /** A submodule by dotted path; numeric parts index lists and may be negative ('blocks.-1.norm1'). */
  getSubmodule(path: string): Module {
    if (typeof path !== 'string') throw new TypeError(`getSubmodule: path must be a string, got ${typeof path}`);
    if (path === '') return this;
    let m: Module = this;
    const walked: string[] = [];
    for (const part of path.split('.')) {
      let key = part;
      if (/^-\d+$/.test(part)) {
        const n = m._modules.size;
        const i = n + Number(part);
        key = String(i);
        if (i < 0 || !m._modules.has(key)) {
          throw new Error(`getSubmodule: index ${part} is out of range for '${walked.join('.') || '(root)'}' with ${n} children`);
        }
      }
      const next = m._modules.get(key);
      if (!next) {
        const here = walked.join('.') || '(root)';
        const options = [...m._modules.keys()].slice(0, 20).join(', ');
        throw new Error(`getSubmodule: '${path}' not found: '${here}' (${m.constructor.name}) has no child '${part}'${options ? ` (children: ${options})` : ''}`);
      }
      walked.push(key);
      m = next;
    }
    return m;
  }

  // ------------------------------------------------------------ modes and devices

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Moves every parameter and buffer to a device (in place: tensor objects keep their identity). */
  async to(device: DeviceName): Promise<this> {
    const backend = await getBackend(device);
    if (!backend) throw new Error(`to: the '${device}' device is not available here`);
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      if (t.backend === backend) continue;
      const data = await t.data();
      t.replaceStorage(new StorageRef(backend.upload(data)));
    }
    return this;
  }

  // ------------------------------------------------------------ state dict

  /** Parameters and buffers by their PyTorch names (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.namedParameters()) out[k] = t;
    for (const [k, t] of this.namedBuffers()) out[k] = t;
    return out;
  }

  /**
   * Copies values into the parameters and buffers by PyTorch's rules (torch 1.13 `load_state_dict`): a
   * BatchNorm `num_batches_tracked` absent from a dict without version metadata (safetensors files, dicts built
   * by hand) is set to 0; a 1-element 1-D tensor loads into a scalar; a key that continues past a parameter
   * name ('fc.weight.x') or names a submodule is ignored. A dict wrapped by a training script — keys under
   * 'module.', 'model.', 'state_dict.', 'model_state_dict.' — is unwrapped when exactly one such prefix fits;
   * `prefix` picks one explicitly. Nothing is changed unless every check passes; the error summarises what
   * is missing, unexpected or mis-shaped. Source tensors must be on the CPU (as the loaders give them) or on
   * the module's device. `dict` is an object or a Map of tensors.
   */
  loadStateDict(dict: StateDictInput, opts: LoadOptions = {}): LoadResult {
    const entries = stateDictEntries(dict);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`loadStateDict: expected options to be an object, got ${opts === null ? 'null' : typeof opts}`);
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw new TypeError(`loadStateDict: expected strict to be a boolean, got ${typeof strict}`);
    if (opts.prefix !== undefined && (typeof opts.prefix !== 'string' || opts.prefix === '')) {
      throw new TypeError(`loadStateDict: expected prefix to be a non-empty string such as 'model.', got ${JSON.stringify(opts.prefix)}`);
    }
    this.stateDict(); // a disposed module throws here, before anything is read
    const versions = versionsOf(dict);
    let prefix = opts.prefix ?? '';
    let plan = this.planLoad(prefix ? underPrefix(entries, prefix) : entries, subVersions(versions, prefix));
    // What the error describes: in strict mode, the wrapper whose keys come closest when none fits exactly.
    let reported = { prefix, plan };
    let hint = '';
    if (!plan.fits && opts.prefix === undefined) {
      const candidates = WRAPPER_PREFIXES.filter((p) => hasKeyUnder(entries, p))
        .map((p) => ({ prefix: p, plan: this.planLoad(underPrefix(entries, p), subVersions(versions, p)) }));
      const fitting = candidates.filter((c) => c.plan.fits);
      if (fitting.length === 1) {
        ({ prefix, plan } = fitting[0]);
        reported = fitting[0];
      } else if (fitting.length > 1) {
        hint = `the keys under ${fitting.map((c) => `'${c.prefix}'`).join(' and ')} all fit this model; pick one with loadStateDict(dict, { prefix: '${fitting[0].prefix}' })`;
      } else {
        const best = candidates.reduce<(typeof candidates)[number] | undefined>((a, c) => (!a || c.plan.matched > a.plan.matched ? c : a), undefined);
        if (best && best.plan.matched > plan.matched && strict) {
          reported = best;
          hint = `the keys under '${best.prefix}' are this model's (the problems above are theirs); to load what fits, use loadStateDict(dict, { prefix: '${best.prefix}', strict: false })`;
        } else hint = this.prefixHint(entries, versions);
      }
    }
    const r = reported.plan;
    const problems: string[] = [];
    if (r.badShape.length) problems.push(`size mismatch for ${r.badShape.length} key(s):\n    ${firstFew(r.badShape, '\n    ')}`);
    if (r.notTensor.length) problems.push(`${r.notTensor.length} value(s) that cannot be loaded: ${firstFew(r.notTensor)}`);
    if (strict && r.missing.length) problems.push(`${r.missing.length} missing key(s): ${firstFew(r.missing)}`);
    if (strict && r.unexpected.length) problems.push(`${r.unexpected.length} unexpected key(s): ${firstFew(r.unexpected)}`);
    if (problems.length) {
      const under = reported.prefix ? ` (${r.seen} under '${reported.prefix}', named here without it)` : '';
      const size = `the model has ${r.own} parameters and buffers, the state dict ${entries.size} entries${under}`;
      throw new Error(`loadStateDict (${this.constructor.name}): the state dict does not fit (${size}):\n  ${problems.join('\n  ')}${hint ? `\n  hint: ${hint}` : ''}`);
    }
    noGrad(() => {
      for (const [k, t, src] of plan.copies) {
        if (src === null) t.replaceStorage(new StorageRef(t.backend.full(t.size, t.dtype, 0)));
        else copyValues(t, src, k);
      }
    });
    return { missingKeys: plan.missing, unexpectedKeys: plan.unexpected, prefix };
  }

  /** What torch's per-module `_load_from_state_dict` would do with `entries`, without changing anything. */
  private planLoad(entries: Map<string, unknown>, versions: Map<string, number> | undefined): LoadPlan {
    const plan: LoadPlan = { copies: [], missing: [], unexpected: [], badShape: [], notTensor: [], fits: false, own: 0, seen: entries.size, matched: 0 };
    const modules = this.namedModules();
    for (const [path, m] of modules) {
      const pre = path ? `${path}.` : '';
      for (const [name, t] of [...m._parameters, ...m._buffers]) {
        if (!t) continue;
        plan.own++;
        const key = pre + name;
        if (!entries.has(key)) {
          // torch's _NormBase (the only modules with this buffer) fills it with 0 below version 2; dicts from
          // safetensors files or built by hand carry no versions at all.
          const version = versions?.get(path);
          if (name === 'num_batches_tracked' && m._buffers.has(name) && (version === undefined || version < 2)) plan.copies.push([key, t, null]);
          else plan.missing.push(key);
          continue;
        }
        const src = entries.get(key);
        if (!(src instanceof Tensor)) {
          plan.notTensor.push(`${key} (got ${describeValue(src)})`);
          continue;
        }
        // torch loads a 1-D tensor into a scalar (checkpoints of torch 0.3 saved scalars as [1]); it silently takes
        // element 0 of a longer one too, which we refuse as a size mismatch.
        const scalarFromVector = t.rank === 0 && src.rank === 1 && src.shape[0] === 1;
        if (!scalarFromVector && !shapesEqual(src.shape, t.shape)) {
          plan.badShape.push(`${key}: checkpoint ${fmtShape(src.shape)} vs model ${fmtShape(t.shape)}`);
          continue;
        }
        // checked here so that a bad source stops the load before any value is copied
        if (src.isDisposed) plan.notTensor.push(`${key} (a disposed Tensor)`);
        else if (src.backend !== t.backend && src.device !== 'cpu') plan.notTensor.push(`${key} (on ${src.device} while the module is on ${t.device}; move the state dict to the CPU first)`);
        plan.copies.push([key, t, src]);
        plan.matched++;
      }
    }
    // torch reports unexpected keys module by module (in namedModules order), each where its walk stopped.
    const order = new Map(modules.map(([path, m], i) => [m, i]));
    const rejected: [number, string][] = [];
    for (const key of entries.keys()) {
      const at = this.rejectingModule(key);
      if (at) rejected.push([order.get(at)!, key]);
    }
    plan.unexpected = rejected.sort((a, b) => a[0] - b[0]).map(([, key]) => key);
    plan.fits = !plan.missing.length && !plan.unexpected.length && !plan.badShape.length && !plan.notTensor.length;
    return plan;
  }

  /**
   * torch's strict check, module by module: a key is unexpected where a part names neither a child nor a
   * parameter/buffer of the module reached so far (that module is returned; undefined when the key passes). So
   * 'conv1.weight.x' (continues past a parameter) and 'layer1' (a module itself) pass unnoticed, as in torch.
   */
  private rejectingModule(key: string): Module | undefined {
    const parts = key.split('.');
    let m: Module = this;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (m._parameters.get(p) || m._buffers.get(p)) return undefined;
      const child = m._modules.get(p);
      if (!child) return m;
      if (i === parts.length - 1) return undefined;
      m = child;
    }
    return m;
  }

  /** Where in a non-fitting dict this model's keys are, to say how to unwrap it. */
  private prefixHint(entries: Map<string, unknown>, versions: Map<string, number> | undefined): string {
    const ownKeys = [...this.namedParameters().map(([k]) => k), ...this.namedBuffers().map(([k]) => k)];
    const probe = ownKeys.find((k) => !k.endsWith('num_batches_tracked')) ?? ownKeys[0];
    if (probe !== undefined && !entries.has(probe)) {
      const candidates = new Set<string>();
      for (const key of entries.keys()) {
        if (key.endsWith(`.${probe}`)) candidates.add(key.slice(0, key.length - probe.length));
        if (candidates.size >= 20) break;
      }
      for (const p of candidates) {
        const plan = this.planLoad(underPrefix(entries, p), subVersions(versions, p));
        if (!plan.missing.length && !plan.badShape.length && !plan.notTensor.length) {
          const extra = plan.unexpected.length ? ` (with ${plan.unexpected.length} further key(s) under it that this model does not have)` : '';
          return `the keys under '${p}' fit this model${extra}: load them with loadStateDict(dict, { prefix: '${p}' })`;
        }
      }
    }
    const groups = new Map<string, number>();
    for (const key of entries.keys()) {
      const head = key.includes('.') ? `${key.slice(0, key.indexOf('.'))}.` : key;
      groups.set(head, (groups.get(head) ?? 0) + 1);
    }
    const shown = [...groups].slice(0, 8).map(([g, n]) => `${g} (${n})`).join(', ');
    return `the state dict's keys start with: ${shown}${groups.size > 8 ? `, … (${groups.size} groups)` : ''}`;
  }

  // ------------------------------------------------------------ lifetime

  /**
   * Frees the parameters and buffers of this module and every submodule (and their accumulated .grad): on
   * WebGPU nothing else returns their buffers. The whole tree is unusable afterwards — forward, parameters(),
   * stateDict(), to() throw — and a submodule shared with another model is gone for that model too.
   * Calling dispose() again does nothing.
   */
  dispose(): void {
    if (this._disposedAs !== null) return;
    const tree = this.namedModules();
    for (const [, m] of tree) {
      for (const t of [...m._parameters.values(), ...m._buffers.values()]) {
        if (!t) continue;
        t.grad?.dispose();
        t.grad = null;
        t.dispose();
      }
    }
    const root = this.constructor.name;
    for (const [name, m] of tree) {
      m._disposedAs = name === '' ? root : `'${name}' (${m.constructor.name}) of ${root}`;
      const forward = (): Tensor => {
        throw m.disposedError('forward');
      };
      m.forward = forward;
    }
  }

  get isDisposed(): boolean {
    return this._disposedAs !== null;
  }

  private assertNotDisposed(what: string): void {
    if (this._disposedAs !== null) throw this.disposedError(what);
  }

  private disposedError(what: string): Error {
    return new Error(`${what}: module ${this._disposedAs} was disposed (dispose() freed its parameters and buffers); build or load a new model`);
  }

  // ------------------------------------------------------------ hooks

  /** Registers (module, inputs, output) => output | void, run after every forward of this module. */
  registerForwardHook(hook: ForwardHook): HookHandle {
    if (typeof hook !== 'function') throw new TypeError('registerForwardHook: expected a function (module, inputs, output) => Tensor | void');
    this.installHookRunner();
    this._forwardHooks.push(hook);
    return {
      remove: () => {
        const i = this._forwardHooks.indexOf(hook);
        if (i >= 0) this._forwardHooks.splice(i, 1);
      },
    };
  }

  /** Wraps this instance's forward once, so modules without hooks pay nothing. */
  private installHookRunner(): void {
    if (this._hooked) return;
    this._hooked = true;
    const inner = this.forward.bind(this);
    this.forward = (...inputs: unknown[]): Tensor => {
      let out = inner(...inputs);
      for (const hook of [...this._forwardHooks]) {
        const r = hook(this, inputs, out);
        if (r !== undefined) {
          if (!(r instanceof Tensor)) throw new TypeError(`forward hook on ${this.constructor.name}: must return a Tensor or nothing`);
          out = r;
        }
      }
      return out;
    };
  }

  /** One line per module with its parameter count, like printing a torch module (shorter). */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === '' ? 0 : name.split('.').length;
      const own = [...m._parameters.values()].reduce((s, t) => s + (t ? t.size : 0), 0);
      lines.push(`${'  '.repeat(depth)}${name || '(root)'}: ${m.constructor.name}${own ? ` (${own} params)` : ''}`);
    }
    return lines.join('\n');
  }
}
