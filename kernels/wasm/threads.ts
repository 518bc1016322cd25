// Worker threads for the wasm backend (Node worker_threads, browser Web Workers): each worker instantiates the
// backend's module bytes against the same shared WebAssembly.Memory, so a kernel call on a worker reads and
// writes the very tensors the main thread sees. Ops are synchronous: the main thread writes the tasks of one
// op (slices of its output: an export's index and its arguments) into a small control SharedArrayBuffer,
// bumps a generation word and wakes the workers (Atomics.notify); then every thread, the main one included,
// takes the next untaken task (a compare-and-swap on one word holding generation·128 + next index) until none
// is left, and the main thread waits until every task is marked done.
//
// Why this shape (measured with bench/wasm-profile.mjs, which reports the time spent in dispatches):
//   - Tasks taken dynamically (more tasks than threads) keep a descheduled thread from holding up the others
//     on a shared machine: with fixed equal slices, two threads on a 2-core VM with one core busy elsewhere ran
//     a ResNet-50 Finer-CAM slower than one thread.
//   - The main thread waits for the tasks, not for the workers: a worker the OS has not woken yet simply
//     takes no task (the first version posted the tasks as a message and waited for every worker to answer —
//     under a load of 5 on 2 cores a Finer-CAM then spent 80 % of its time in those waits, 451 ms vs 213 ms
//     on one thread).
//   - Workers wait on the generation word in Atomics.wait after a short spin, not in their event loop: a
//     postMessage round trip cost ~90–140 µs per dispatch, and a Finer-CAM makes ~70 of them.
// A worker joining late (or a stale one) only ever takes tasks of the current generation: the claim succeeds
// only while the word still holds it, and the main thread publishes a new generation only after every task
// of the last one is done. Results are bit-identical on any number of threads: a task is a set of whole
// output elements computed in the same order whichever thread runs it.
//
// Workers boot asynchronously (tens of ms): until they report ready, every call runs on the calling thread.
// A worker that throws, or a task not done within STALL_MS, switches the pool off for good; the tasks not
// marked done are recomputed on the main thread. Workers are unref'd so they never keep the process alive.
//
// Browsers: Web Workers made from a Blob URL of WEB_WORKER_SOURCE, given the module bytes, the shared memory
// and the control buffer in their first message (Web Workers have no workerData). Shared memory exists only
// on a cross-origin isolated page (COOP/COEP headers; web/serve.mjs sends them), otherwise the backend stays
// on one thread and says so once (backend.ts). A window's main thread may not block in Atomics.wait, so there
// the wait for the tasks spins on Atomics.load instead (the tasks are milliseconds long; a worker thread,
// Node's included, blocks as usual).
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

/** Most tasks one run() hands out (each has a done marker and a row of the task table). */
export const MAX_TASKS = 64;
/** Most arguments of a task, the thread's scratch included. */
export const MAX_ARGS = 24;

// Control buffer: Int32 words, then (8-byte aligned) the task table as float64 (arguments are i32 addresses
// and sizes or f32 scalars, all exact in a double) and each worker's scratch arguments.
const WORD = 0; // generation·128 + next task index
const NTASKS = 1;
const GEN = 2; // the generation workers wait on
const FAIL = 3; // the generation in which a worker's task threw
const DONE = 4; // DONE + k: the generation in which task k was done
const INTS = DONE + MAX_TASKS;
const TASK_DOUBLES = 3 + MAX_ARGS; // export index, argument count, scratch flag, arguments
const TABLE_BYTE = INTS * 4;
const SCRATCH_DOUBLES = 3;
/** Claims per generation fit in the word's low 7 bits; the generation in the other 24. */
const GEN_MASK = 0xffffff;
/**
 * Loads of the generation word a worker spins through before it blocks: ~30 µs (an Atomics.load loop runs at
 * ~15 ns per load here), enough to catch the next op of a forward pass without a futex wake, short enough
 * not to take a loaded machine's core from the main thread (20000, ~0.3 ms, burned ~20 ms per ResNet-50 pass).
 */
const SPIN = 2000;

function controlBytes(workers: number): number {
  return TABLE_BYTE + 8 * (MAX_TASKS * TASK_DOUBLES + SCRATCH_DOUBLES * Math.max(1, workers));
}

// The loop every worker runs once instantiated (Node and browser alike): `exports`, `ctrl` (the control
// SharedArrayBuffer) and `me` (the worker's index) are in scope.
const WORKER_LOOP = `
const I = new Int32Array(ctrl), D = new Float64Array(ctrl, ${TABLE_BYTE});
const fns = Object.keys(exports).map((k) => exports[k]);
const SCR = ${MAX_TASKS * TASK_DOUBLES} + ${SCRATCH_DOUBLES} * me;
const args = [];
let seen = Atomics.load(I, ${GEN});
for (;;) {
  let g = Atomics.load(I, ${GEN});
  for (let s = 0; g === seen && s < ${SPIN}; s++) g = Atomics.load(I, ${GEN});
  while (g === seen) {
    Atomics.wait(I, ${GEN}, seen);
    g = Atomics.load(I, ${GEN});
  }
  seen = g;
  for (;;) {
    const w = Atomics.load(I, ${WORD});
    if ((w >>> 7) !== g) break;
    const k = w & 127;
    if (k >= Atomics.load(I, ${NTASKS})) break;
    if (Atomics.compareExchange(I, ${WORD}, w, w + 1) !== w) continue;
    const b = k * ${TASK_DOUBLES};
    const n = D[b + 1];
    args.length = 0;
    for (let i = 0; i < n; i++) args.push(D[b + 3 + i]);
    if (D[b + 2]) for (let i = 0; i < ${SCRATCH_DOUBLES}; i++) args.push(D[SCR + i]);
    try {
      fns[D[b]](...args);
    } catch (e) {
      Atomics.store(I, ${FAIL}, g);
      Atomics.notify(I, ${DONE} + k);
      continue;
    }
    Atomics.store(I, ${DONE} + k, g);
    Atomics.notify(I, ${DONE} + k);
  }
}
`;

// Node: instantiate, say ready, then the loop (the worker never returns to its event loop).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, memory, ctrl, me } = workerData;
let exports;
try {
  exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  parentPort.postMessage({ ready: true });
} catch (e) {
  parentPort.postMessage({ error: String(e) });
}
if (exports) {
${WORKER_LOOP}
}
`;

// The same for a Web Worker: the first message carries what Node passes as workerData.
export const WEB_WORKER_SOURCE = `
self.onmessage = (ev) => {
  const { bytes, memory, ctrl, me } = ev.data;
  let exports;
  try {
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
    self.postMessage({ ready: true });
  } catch (e) {
    self.postMessage({ error: String(e) });
    return;
  }
  self.onmessage = null;
${WORKER_LOOP}
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
export type WorkerFactory = (init: { bytes: Uint8Array; memory: WebAssembly.Memory; ctrl: SharedArrayBuffer; me: number }) => PoolWorker | null;

function nodeWorkerFactory(): WorkerFactory | null {
  const wt = nodeBuiltinSync<WorkerThreads>('node:worker_threads');
  if (!wt) return null;
  return (init) => {
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: init });
    return {
      postMessage: (m) => w.postMessage(m),
      listen: (fn) => {
        // The worker stays referenced until it has answered, so a script awaiting the pool's start (ready())
        // is kept alive for it; after that it is unref'd — the 'message' listener refs its port, so this must
        // come after attaching it — and never keeps the process alive (test/wasm/process-exit.test.ts).
        const answered = (m: { ready?: boolean; error?: string }): void => {
          w.unref();
          fn(m);
        };
        w.on('message', (m) => answered(m as { ready?: boolean; error?: string }));
        w.on('error', (e) => answered({ error: String(e) }));
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
    w.postMessage(init);
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

export class WasmThreadPool {
  private readonly workers: PoolWorker[] = [];
  private readonly ready: boolean[] = [];
  private readonly ints: Int32Array;
  private readonly table: Float64Array;
  private readonly fnIndex = new Map<string, number>();
  private gen = 0;
  private broken = false;
  /** Whether the waiting thread blocks in Atomics.wait (else it spins on Atomics.load). */
  readonly blocking: boolean;
  /** Resolves once every worker is ready (or the pool gave up). */
  readonly started: Promise<void>;

  /**
   * `exportNames`: the module's exports in their order (Object.keys of its instance's exports), which is how
   * a task names its function to the workers.
   */
  constructor(bytes: Uint8Array, memory: WebAssembly.Memory, readonly size: number, factory: WorkerFactory | null = defaultWorkerFactory(), exportNames: readonly string[] = []) {
    exportNames.forEach((n, i) => this.fnIndex.set(n, i));
    const sab = new SharedArrayBuffer(controlBytes(size));
    this.ints = new Int32Array(sab, 0, INTS);
    this.table = new Float64Array(sab, TABLE_BYTE);
    this.blocking = canBlock();
    if (!factory || size < 1 || exportNames.length === 0) {
      this.broken = true;
      this.started = Promise.resolve();
      return;
    }
    const boots: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const w = factory({ bytes, memory, ctrl: sab, me: i });
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
   * Runs every task, on the calling thread and on the workers, and returns when all are done. Tasks are taken
   * dynamically — each thread takes the next untaken one until none is left — so a thread the OS descheduled
   * (a busy machine, a busy browser) does not hold the others up with a fixed share of the work. Tasks must
   * write disjoint outputs: which thread runs one does not change its result. `local(t)` runs a task on this
   * thread; `scratch[i + 1]` are worker i's scratch arguments (appended to the args of tasks marked `scratch`).
   */
  run(tasks: Task[], local: (t: Task) => void, scratch: number[][] = []): void {
    if (tasks.length > MAX_TASKS) throw new RangeError(`WasmThreadPool.run: at most ${MAX_TASKS} tasks, got ${tasks.length}`);
    const I = this.ints, D = this.table;
    const n = tasks.length;
    const g = (this.gen = (this.gen % GEN_MASK) + 1);
    tasks.forEach((t, k) => {
      const fn = this.fnIndex.get(t.fn);
      const nargs = t.args.length + (t.scratch ? SCRATCH_DOUBLES : 0);
      if (fn === undefined) throw new RangeError(`WasmThreadPool.run: no export named ${t.fn}`);
      if (nargs > MAX_ARGS) throw new RangeError(`WasmThreadPool.run: ${t.fn} has ${nargs} arguments, at most ${MAX_ARGS}`);
      const b = k * TASK_DOUBLES;
      D[b] = fn;
      D[b + 1] = t.args.length;
      D[b + 2] = t.scratch ? 1 : 0;
      D.set(t.args, b + 3);
      Atomics.store(I, DONE + k, 0);
    });
    for (let i = 0; i < this.workers.length; i++) D.set(scratch[i + 1] ?? [0, 0, 0], MAX_TASKS * TASK_DOUBLES + SCRATCH_DOUBLES * i);
    Atomics.store(I, NTASKS, n);
    Atomics.store(I, WORD, g << 7); // publishes the table above (Atomics are sequentially consistent)
    Atomics.store(I, GEN, g);
    Atomics.notify(I, GEN);
    // take tasks like any worker
    for (;;) {
      const w = Atomics.load(I, WORD);
      const k = w & 127;
      if (k >= n) break;
      if (Atomics.compareExchange(I, WORD, w, w + 1) !== w) continue;
      local(tasks[k]);
      Atomics.store(I, DONE + k, g);
    }
    // wait for the tasks the workers took
    let failed = false;
    for (let k = 0; k < n && !failed; k++) {
      const deadline = performance.now() + STALL_MS;
      let spins = 0;
      for (let v = Atomics.load(I, DONE + k); v !== g; v = Atomics.load(I, DONE + k)) {
        if (Atomics.load(I, FAIL) === g || performance.now() > deadline) {
          failed = true;
          break;
        }
        if (this.blocking && ++spins > 1000) Atomics.wait(I, DONE + k, v, 100);
      }
    }
    if (failed) {
      this.broken = true; // never trust the pool again; recompute what is not marked done here (same numbers)
      Atomics.store(I, WORD, (g << 7) | 127); // no more claims in this generation
      tasks.forEach((t, k) => {
        if (Atomics.load(I, DONE + k) !== g) local(t);
      });
    }
  }

  terminate(): void {
    this.broken = true;
    for (const w of this.workers) w.terminate();
  }
}
