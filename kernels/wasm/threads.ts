// Worker threads for the wasm backend (Node worker_threads): each worker instantiates the backend's module
// bytes against the same shared WebAssembly.Memory, so a kernel call on a worker reads and writes the very
// tensors the main thread sees. Ops are synchronous, so the main thread posts the list of tasks (slices of
// an output) to the workers, then every thread takes the next untaken task from an atomic counter until none
// is left, and the main thread blocks in Atomics.wait until every worker has stored its sequence number in
// a small control SharedArrayBuffer. Taking tasks dynamically (more tasks than threads) keeps a descheduled
// thread from holding up the others on a shared machine: with fixed equal slices, two threads on a 2-core VM
// with one core busy elsewhere ran a ResNet-50 Finer-CAM slower than one thread.
//
// Workers boot asynchronously (tens of ms): until they report ready, every call runs on the calling thread —
// results are bit-identical either way, since a slice is a set of whole output elements computed in the same
// order. A worker that fails or stalls (no answer in STALL_MS) switches the pool off for good; its slice is
// recomputed on the main thread. Workers are unref'd so they never keep the process alive.
//
// Browsers: Web Workers made from a Blob URL of WEB_WORKER_SOURCE, given the module bytes, the shared memory
// and the control buffer in their first message (Web Workers have no workerData). Shared memory exists only
// on a cross-origin isolated page (COOP/COEP headers; web/serve.mjs sends them), otherwise the backend stays
// on one thread and says so once (backend.ts). A window's main thread may not block in Atomics.wait, so there
// the wait for the workers' slices spins on Atomics.load instead (the slices are milliseconds long; a worker
// thread, Node's included, blocks as usual).
import { isNode, nodeBuiltinSync } from '../../core/node-builtins';

const STALL_MS = 30_000;

interface WorkerLike {
  postMessage(m: unknown): void;
  on(ev: string, fn: (m: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}
interface WorkerThreads {
  Worker: new (code: string, opts: { eval: true; workerData: unknown }) => WorkerLike;
}

// The worker's whole program: instantiate, then run the named export with the given arguments per message.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, memory, ctrl } = workerData;
const flags = new Int32Array(ctrl);
let exports;
try {
  exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  parentPort.postMessage({ ready: true });
} catch (e) {
  parentPort.postMessage({ error: String(e) });
}
parentPort.on('message', (t) => {
  try {
    for (;;) {
      const k = Atomics.add(flags, t.counter, 1);
      if (k >= t.tasks.length) break;
      const task = t.tasks[k];
      exports[task.fn](...task.args, ...(task.scratch ? t.scratch : []));
      Atomics.store(flags, t.doneBase + k, t.seq);
    }
    Atomics.store(flags, t.slot, t.seq);
  } catch (e) {
    Atomics.store(flags, t.slot, -1);
  }
  Atomics.notify(flags, t.slot);
});
`;

// The same protocol for a Web Worker: the first message carries what Node passes as workerData.
export const WEB_WORKER_SOURCE = `
let exports = null, flags = null;
self.onmessage = (ev) => {
  const t = ev.data;
  if (t.init) {
    try {
      exports = new WebAssembly.Instance(new WebAssembly.Module(t.bytes), { env: { memory: t.memory } }).exports;
      flags = new Int32Array(t.ctrl);
      self.postMessage({ ready: true });
    } catch (e) {
      self.postMessage({ error: String(e) });
    }
    return;
  }
  try {
    for (;;) {
      const k = Atomics.add(flags, t.counter, 1);
      if (k >= t.tasks.length) break;
      const task = t.tasks[k];
      exports[task.fn](...task.args, ...(task.scratch ? t.scratch : []));
      Atomics.store(flags, t.doneBase + k, t.seq);
    }
    Atomics.store(flags, t.slot, t.seq);
  } catch (e) {
    Atomics.store(flags, t.slot, -1);
  }
  Atomics.notify(flags, t.slot);
};
`;

/** What the pool needs of a worker, Node's or the browser's. */
export interface PoolWorker {
  postMessage(m: unknown): void;
  /** Calls fn with each message the worker sends, and with { error } if it fails. */
  listen(fn: (m: { ready?: boolean; error?: string }) => void): void;
  terminate(): void;
}

/** Creates worker i given the module bytes, the shared memory and the control buffer; null where it cannot. */
export type WorkerFactory = (init: { bytes: Uint8Array; memory: WebAssembly.Memory; ctrl: SharedArrayBuffer }) => PoolWorker | null;

function nodeWorkerFactory(): WorkerFactory | null {
  const wt = nodeBuiltinSync<WorkerThreads>('node:worker_threads');
  if (!wt) return null;
  return (init) => {
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: init });
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      listen: (fn) => {
        w.on('message', (m) => fn(m as { ready?: boolean; error?: string }));
        w.on('error', (e) => fn({ error: String(e) }));
      },
      terminate: () => void w.terminate(),
    };
  };
}

interface WebWorkerLike {
  postMessage(m: unknown): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  terminate(): void;
}
type WebWorkerCtor = new (url: string) => WebWorkerLike;

/** Web Workers from a Blob URL of WEB_WORKER_SOURCE (browsers; null where Worker, Blob or URL are missing). */
export function webWorkerFactory(WorkerCtor?: WebWorkerCtor): WorkerFactory | null {
  const g = globalThis as unknown as { Worker?: WebWorkerCtor; Blob?: typeof Blob; URL?: typeof URL };
  const Ctor = WorkerCtor ?? g.Worker;
  if (!Ctor || !g.Blob || typeof g.URL?.createObjectURL !== 'function') return null;
  let url: string | null = null;
  return (init) => {
    url ??= URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
    let w: WebWorkerLike;
    try {
      w = new Ctor(url); // a page whose Content-Security-Policy forbids blob: workers throws here
    } catch {
      return null;
    }
    w.postMessage({ init: true, ...init });
    return {
      postMessage: (m) => w.postMessage(m),
      listen: (fn) => {
        w.onmessage = (ev) => fn(ev.data as { ready?: boolean; error?: string });
        w.onerror = (ev) => fn({ error: String((ev as { message?: string }).message ?? ev) });
      },
      terminate: () => w.terminate(),
    };
  };
}

/** Node's worker_threads in Node, Web Workers elsewhere; null where neither exists. */
export function defaultWorkerFactory(): WorkerFactory | null {
  return isNode() ? nodeWorkerFactory() : webWorkerFactory();
}

/** Whether this thread may block in Atomics.wait (not a browser window's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // returns 'not-equal' at once where allowed
    return true;
  } catch {
    return false;
  }
}

export interface Task {
  fn: string;
  args: number[];
  /** Append the executing thread's scratch arguments (run()'s `scratch`) to args. */
  scratch?: boolean;
}

/** Most tasks one run() hands out (each has a done marker in the control buffer). */
export const MAX_TASKS = 64;

export class WasmThreadPool {
  private readonly workers: PoolWorker[] = [];
  private readonly ready: boolean[] = [];
  private readonly ctrl: Int32Array;
  private seq = 0;
  private broken = false;
  /** Whether the waiting thread blocks in Atomics.wait (else it spins on Atomics.load). */
  readonly blocking: boolean;
  /** Resolves once every worker is ready (or the pool gave up). */
  readonly started: Promise<void>;

  constructor(bytes: Uint8Array, memory: WebAssembly.Memory, readonly size: number, factory: WorkerFactory | null = defaultWorkerFactory()) {
    // control words: [0, size) each worker's finished run, [size] the next task to take, then MAX_TASKS done
    // markers (which tasks of the current run are complete, for recovering a failed worker's)
    const sab = new SharedArrayBuffer(4 * (size + 1 + MAX_TASKS));
    this.ctrl = new Int32Array(sab);
    this.blocking = canBlock();
    if (!factory || size < 1) {
      this.broken = true;
      this.started = Promise.resolve();
      return;
    }
    const boots: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const w = factory({ bytes, memory, ctrl: sab });
      if (!w) {
        this.broken = true;
        break;
      }
      this.workers.push(w);
      this.ready.push(false);
      boots.push(new Promise<void>((resolve) => {
        w.listen((msg) => {
          if (msg.ready) this.ready[i] = true;
          else this.broken = true;
          resolve();
        });
      }));
    }
    this.started = Promise.all(boots).then(() => undefined);
  }

  /** Workers that can take a slice now. */
  get available(): number {
    return this.broken ? 0 : this.ready.filter(Boolean).length;
  }

  /**
   * Runs every task, on the calling thread and on up to `available` workers, and returns when all are done.
   * Tasks are taken dynamically — each thread takes the next untaken one (an atomic counter) until none is
   * left — so a thread the OS descheduled (a busy machine, a busy browser) does not hold the others up with a
   * fixed share of the work. Tasks must write disjoint outputs: which thread runs one does not change its
   * result. `local(t, scratch)` runs a task on this thread; `scratch[0]` are this thread's scratch arguments,
   * `scratch[i + 1]` worker i's (appended to the args of tasks marked `scratch`).
   */
  run(tasks: Task[], local: (t: Task) => void, scratch: number[][] = []): void {
    if (tasks.length > MAX_TASKS) throw new RangeError(`WasmThreadPool.run: at most ${MAX_TASKS} tasks, got ${tasks.length}`);
    const size = this.workers.length;
    const counter = size, doneBase = size + 1;
    const seq = (this.seq = (this.seq % 0x3fffffff) + 1);
    Atomics.store(this.ctrl, counter, 0);
    const helpers = Math.min(this.available, tasks.length - 1);
    for (let i = 0; i < helpers; i++) this.workers[i].postMessage({ tasks, slot: i, seq, counter, doneBase, scratch: scratch[i + 1] ?? [] });
    for (;;) {
      const k = Atomics.add(this.ctrl, counter, 1);
      if (k >= tasks.length) break;
      local(tasks[k]);
      Atomics.store(this.ctrl, doneBase + k, seq);
    }
    let failed = false;
    for (let i = 0; i < helpers; i++) {
      const deadline = performance.now() + STALL_MS;
      let v = Atomics.load(this.ctrl, i);
      while (v !== seq && v !== -1 && performance.now() < deadline) {
        if (this.blocking) Atomics.wait(this.ctrl, i, v, 100);
        v = Atomics.load(this.ctrl, i);
      }
      if (v !== seq) failed = true;
    }
    if (failed) {
      this.broken = true; // never trust the pool again; recompute what is not marked done here (same numbers)
      tasks.forEach((t, k) => {
        if (Atomics.load(this.ctrl, doneBase + k) !== seq) local(t);
      });
    }
  }

  terminate(): void {
    this.broken = true;
    for (const w of this.workers) w.terminate();
  }
}
