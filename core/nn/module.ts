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
import { cast } from '../ops/elementwise';

/** A forward hook sees the module, its inputs and its output; returning a tensor replaces the output. */
export type ForwardHook = (module: Module, inputs: unknown[], output: Tensor) => Tensor | void;

export interface LoadOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();
  private readonly _forwardHooks: ForwardHook[] = [];
  private _hooked = false;

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
   * Copies values into the parameters and buffers. Every missing, unexpected or mis-shaped key is named
   * in one error (strict), and nothing is changed unless all checks pass. Source tensors must be on the
   * CPU (as the loaders give them) or on the module's device.
   */
  loadStateDict(dict: Record<string, Tensor>, opts: LoadOptions = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    if (dict === null || typeof dict !== 'object') throw new TypeError('loadStateDict: expected an object of tensors');
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    const badShape: string[] = [];
    const notTensor: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k];
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) notTensor.push(k);
      else if (!shapesEqual(src.shape, t.shape)) badShape.push(`${k}: checkpoint ${fmtShape(src.shape)} vs model ${fmtShape(t.shape)}`);
    }
    const problems: string[] = [];
    if (badShape.length) problems.push(`size mismatch for ${badShape.length} key(s):\n  ${badShape.join('\n  ')}`);
    if (notTensor.length) problems.push(`not a Tensor: ${notTensor.join(', ')}`);
    if (strict && missing.length) problems.push(`missing key(s): ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected key(s): ${unexpected.join(', ')}`);
    if (problems.length) throw new Error(`loadStateDict (${this.constructor.name}): ${problems.join('\n')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = dict[k];
        if (src === undefined) continue;
        copyValues(t, src, k);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected };
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

function copyValues(dst: Tensor, src: Tensor, key: string): void {
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
