// Reverse-mode autograd: a tape recorded eagerly as a DAG of Nodes (one per op output), walked backwards
// in reverse topological order. Each op states its gradient rule next to its forward (core/ops/*), written
// with ordinary ops, so most gradients need nothing from a backend beyond its forward kernels; the few
// that cannot be composed efficiently (conv2d's input and weight gradients, max-pool's scatter, scatterAdd)
// are kernels of the Backend contract (core/backend.ts) that every backend implements.
//
// grad() computes only what the requested inputs need: nodes that do not lead to a requested tensor are
// never visited, inputs that do not lead to one get no gradient, and the walk stops at the requested
// tensors. For Grad-CAM this means no weight gradients and nothing below the hooked layer.
import { Tensor, withSavedTensors } from './tensor';
import type { GradHook } from './tensor';
import { isGradEnabled, noGrad } from './grad-mode';
import { fmtShape, shapesEqual } from './shape';
import { keep, tidy } from './scope';

/** Gradients for the inputs (null where not needed or not differentiable). */
export type BackwardFn = (gradOutput: Tensor, needsInputGrad: readonly boolean[]) => (Tensor | null)[];

/** Counts backward-rule calls; tests use it to show that pruning skips work. */
export const autogradStats = { backwardCalls: 0, byOp: new Map<string, number>() };

export function resetAutogradStats(): void {
  autogradStats.backwardCalls = 0;
  autogradStats.byOp.clear();
}

let nextNodeId = 1;

export class Node {
  readonly id = nextNodeId++;
  /** Gradient hooks registered on the output tensor. */
  readonly hooks: GradHook[] = [];
  /** Tensors that point at this node: the output plus downstream nodes. */
  private refs = 1;
  private savedFreed = false;

  constructor(
    readonly name: string,
    readonly inputs: readonly Tensor[],
    readonly backward: BackwardFn,
    private readonly saved: readonly Tensor[],
    readonly outputShape: readonly number[],
  ) {
    for (const t of saved) t.retainForBackward();
    for (const t of inputs) t.gradFn?.addRef();
  }

  addRef(): void {
    this.refs++;
  }

  /** Drops one reference; at zero the saved tensors are released and the inputs' nodes lose a reference. */
  release(): void {
    this.refs--;
    if (this.refs > 0) return;
    this.freeSaved();
    for (const t of this.inputs) t.gradFn?.release();
  }

  freeSaved(): void {
    if (this.savedFreed) return;
    this.savedFreed = true;
    for (const t of this.saved) t.releaseForBackward();
  }

  get isFreed(): boolean {
    return this.savedFreed;
  }
}

/**
 * Attaches the gradient rule of an op to its output. `saved` lists the tensors the rule reads, so they
 * outlive a dispose() or tidy() until the graph is freed. Returns the output for chaining.
 */
export function record(name: string, inputs: readonly Tensor[], output: Tensor, backward: BackwardFn, saved: readonly Tensor[] = []): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return output;
  output.gradFn = new Node(name, inputs, backward, saved, output.shape);
  (output as unknown as { _requiresGrad: boolean })._requiresGrad = true;
  return output;
}

export interface GradOptions {
  /** Gradients of the outputs, one per output (default: ones for one-element outputs). */
  gradOutputs?: (Tensor | null)[] | Tensor;
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

function defaultGrad(out: Tensor, what: string, i: number, given: Tensor | null | undefined): Tensor {
  if (given) {
    if (!(given instanceof Tensor)) throw new TypeError(`${what}: ${what === 'backward' ? 'gradOutput' : `gradOutputs[${i}]`} must be a Tensor`);
    given.assertAlive(`${what}: ${what === 'backward' ? 'gradOutput' : `gradOutputs[${i}]`}`);
    if (!shapesEqual(given.shape, out.shape)) {
      const arg = what === 'backward' ? 'gradOutput' : `gradOutputs[${i}]`;
      const of = what === 'backward' ? 'the output' : `output ${i}`;
      throw new Error(`${what}: ${arg} has shape ${fmtShape(given.shape)} but ${of} has shape ${fmtShape(out.shape)}`);
    }
    return given;
  }
  if (out.size !== 1) {
    throw new Error(
      `${what}: grad can be implicitly created only for outputs with one element; ${what === 'backward' ? 'the output' : `output ${i}`} ` +
        `has shape ${fmtShape(out.shape)}, pass ${what === 'backward' ? 'a gradOutput' : 'gradOutputs'}`,
    );
  }
  return onesLike(out);
}

// Set by ops/creation.ts to avoid an import cycle.
let onesLike: (t: Tensor) => Tensor = () => {
  throw new Error('autograd: creation ops not loaded');
};
let addTensors: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new Error('autograd: elementwise ops not loaded');
};
export function bindAutogradOps(ops: { onesLike: (t: Tensor) => Tensor; add: (a: Tensor, b: Tensor) => Tensor }): void {
  onesLike = ops.onesLike;
  addTensors = ops.add;
}

/** Core walk shared by backward() and grad(). targets === null means: accumulate into every leaf's .grad. */
function walk(what: string, outputs: readonly Tensor[], gradOutputs: readonly Tensor[], targets: readonly Tensor[] | null, retainGraph: boolean): Map<Tensor | Node, Tensor> {
  const targetNodes = new Set<Node>();
  const targetLeaves = new Set<Tensor>();
  for (const t of targets ?? []) {
    if (t.gradFn) targetNodes.add(t.gradFn);
    else targetLeaves.add(t);
  }
  const leafWanted = (t: Tensor): boolean => t.requiresGrad && t.gradFn === null && (targets === null || targetLeaves.has(t));

  // 1. Which nodes lead to something wanted: iterative post-order (deep graphs would overflow recursion).
  // In a DAG every input node finishes before the node that consumes it, so `needed` is final when read.
  const needed = new Map<Node, boolean>();
  const visiting = new Set<Node>();
  const order: Node[] = [];
  const stack: { node: Node; i: number }[] = [];
  for (const out of outputs) {
    if (!out.gradFn || needed.has(out.gradFn) || visiting.has(out.gradFn)) continue;
    visiting.add(out.gradFn);
    stack.push({ node: out.gradFn, i: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.i < top.node.inputs.length) {
        const g = top.node.inputs[top.i++].gradFn;
        if (g && !needed.has(g) && !visiting.has(g)) {
          visiting.add(g);
          stack.push({ node: g, i: 0 });
        }
        continue;
      }
      stack.pop();
      const n = top.node;
      const below = n.inputs.some((t) => (t.gradFn ? needed.get(t.gradFn) === true : leafWanted(t)));
      // A requested node needs its own gradient; it needs its backward only if something below is wanted too.
      needed.set(n, below || targetNodes.has(n));
      order.push(n);
    }
  }

  // 2. Seed and run in reverse topological order (reverse post-order).
  const grads = new Map<Node, Tensor>();
  const results = new Map<Tensor | Node, Tensor>();
  const accumulate = <K>(map: Map<K, Tensor>, key: K, g: Tensor): void => {
    const prev = map.get(key);
    if (prev === undefined) map.set(key, g);
    else {
      map.set(key, addTensors(prev, g));
    }
  };
  for (let i = 0; i < outputs.length; i++) {
    const out = outputs[i];
    if (out.gradFn) accumulate(grads, out.gradFn, gradOutputs[i]);
    else if (leafWanted(out)) accumulate(results, out, gradOutputs[i]);
  }

  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    if (!needed.get(node)) continue;
    let g = grads.get(node);
    if (g === undefined) continue;
    for (const hook of node.hooks) {
      const r = hook(g);
      if (r !== undefined) g = checkHookResult(r, g, node.name);
    }
    if (targetNodes.has(node)) results.set(node, g);
    const needs = node.inputs.map((t) => (t.gradFn ? needed.get(t.gradFn) === true : leafWanted(t)));
    if (!needs.some(Boolean)) continue;
    if (node.isFreed) {
      throw new Error(
        `${what}: trying to backward through the graph a second time (through ${node.name}); ` +
          'its saved tensors were freed after the first backward. Pass retainGraph: true the first time.',
      );
    }
    autogradStats.backwardCalls++;
    autogradStats.byOp.set(node.name, (autogradStats.byOp.get(node.name) ?? 0) + 1);
    const gradOut = g;
    const inGrads = withSavedTensors(() => node.backward(gradOut, needs));
    for (let i = 0; i < node.inputs.length; i++) {
      const gi = inGrads[i];
      if (!needs[i] || !gi) continue;
      const inp = node.inputs[i];
      if (!shapesEqual(gi.shape, inp.shape)) {
        throw new Error(`${what}: internal error: gradient of ${node.name} input ${i} has shape ${fmtShape(gi.shape)}, expected ${fmtShape(inp.shape)}`);
      }
      if (inp.gradFn) accumulate(grads, inp.gradFn, gi);
      else accumulate(results, inp, gi);
    }
  }
  if (!retainGraph) {
    for (const n of order) if (needed.get(n)) n.freeSaved();
  }
  // Leaf hooks run on the total gradient, before it is stored.
  for (const [key, g] of results) {
    if (key instanceof Tensor) {
      let h = g;
      for (const hook of key.leafHooks) {
        const r = hook(h);
        if (r !== undefined) h = checkHookResult(r, h, 'leaf');
      }
      results.set(key, h);
    }
  }
  return results;
}

function checkHookResult(r: unknown, g: Tensor, where: string): Tensor {
  if (!(r instanceof Tensor)) throw new TypeError(`gradient hook on ${where}: must return a Tensor or nothing, got ${typeof r}`);
  if (!shapesEqual(r.shape, g.shape)) {
    throw new Error(`gradient hook on ${where}: returned shape ${fmtShape(r.shape)}, expected ${fmtShape(g.shape)}`);
  }
  return r;
}

function asList(x: Tensor | readonly Tensor[], what: string, arg: string): Tensor[] {
  const list = x instanceof Tensor ? [x] : [...x];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${what}: ${arg}[${i}] is not a Tensor`);
    t.assertAlive(`${what} ${arg}[${i}]`);
  });
  return list;
}

/** torch.Tensor.backward(): accumulates d(output)/d(leaf) into every leaf's .grad. */
export function backward(output: Tensor, gradOutput?: Tensor, opts: { retainGraph?: boolean } = {}): void {
  output.assertAlive('backward');
  if (!output.requiresGrad) {
    throw new Error("backward: the tensor does not require grad and has no gradFn (did it come from noGrad or detach?)");
  }
  noGrad(() => tidy(() => {
    const g0 = defaultGrad(output, 'backward', 0, gradOutput);
    const results = walk('backward', [output], [g0], null, opts.retainGraph ?? false);
    for (const [leaf, g] of results) {
      if (!(leaf instanceof Tensor)) continue;
      // A fresh view even for a new gradient: rules may hand the same tensor (or the caller's gradOutput)
      // to several leaves, and disposing one leaf's .grad must not dispose another's.
      const next = leaf.grad ? addTensors(leaf.grad, g) : g.detach();
      if (leaf.grad) leaf.grad.dispose();
      leaf.grad = keep(next);
    }
  }));
}

/**
 * torch.autograd.grad: gradients of outputs w.r.t. inputs, in input order, without touching .grad.
 * Computes only what those inputs need.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = asList(outputs, 'grad', 'outputs');
  const ins = asList(inputs, 'grad', 'inputs');
  outs.forEach((t, i) => {
    if (!t.requiresGrad) throw new Error(`grad: outputs[${i}] does not require grad and has no gradFn`);
  });
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new Error(`grad: inputs[${i}] does not require grad`);
  });
  const given = opts.gradOutputs === undefined ? [] : opts.gradOutputs instanceof Tensor ? [opts.gradOutputs] : opts.gradOutputs;
  if (opts.gradOutputs !== undefined && given.length !== outs.length) {
    throw new Error(`grad: gradOutputs has ${given.length} entries but there are ${outs.length} outputs`);
  }
  return noGrad(() => tidy(() => {
    const g0 = outs.map((o, i) => defaultGrad(o, 'grad', i, given[i]));
    const results = walk('grad', outs, g0, ins, opts.retainGraph ?? false);
    return ins.map((t, i) => {
      const g = results.get(t.gradFn ?? t);
      if (g === undefined) {
        if (opts.allowUnused) return null;
        throw new Error(`grad: inputs[${i}] (shape ${fmtShape(t.shape)}) was not used to compute the outputs; pass allowUnused: true to get null`);
      }
      return g.detach(); // distinct tensors, even where a rule passed one gradient to several inputs
    });
  }));
}
