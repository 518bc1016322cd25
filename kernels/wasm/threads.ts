// Worker threads for the wasm backend (Node worker_threads): each worker instantiates the backend's module
// bytes against the same shared WebAssembly.Memory, so a kernel call on a worker reads and writes the very
// tensors the main thread sees. Ops are synchronous, so the main thread hands out slices by postMessage,
// computes its own slice, then blocks in Atomics.wait until every worker has stored its sequence number in
// a small control SharedArrayBuffer.
//
// Workers boot asynchronously (tens of ms): until they report ready, every call runs on the calling thread —
// results are bit-identical either way, since a slice is a set of whole output elements computed in the same
// order. A worker that fails or stalls (no answer in STALL_MS) switches the pool off for good; its slice is
// recomputed on the main thread. Workers are unref'd so they never keep the process alive.
// Browsers (Web Workers) are not wired up yet: there the backend runs on one thread.
import { nodeBuiltinSync } from '../../core/node-builtins';

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
    exports[t.fn](...t.args);
    Atomics.store(flags, t.slot, t.seq);
  } catch (e) {
    Atomics.store(flags, t.slot, -1);
  }
  Atomics.notify(flags, t.slot);
});
`;

export interface Task {
  fn: string;
  args: number[];
}

export class WasmThreadPool {
  private readonly workers: WorkerLike[] = [];
  private readonly ready: boolean[] = [];
  private readonly ctrl: Int32Array;
  private seq = 0;
  private broken = false;
  /** Resolves once every worker is ready (or the pool gave up). */
  readonly started: Promise<void>;

  constructor(bytes: Uint8Array, memory: WebAssembly.Memory, readonly size: number) {
    const sab = new SharedArrayBuffer(4 * Math.max(1, size));
    this.ctrl = new Int32Array(sab);
    const wt = nodeBuiltinSync<WorkerThreads>('node:worker_threads');
    if (!wt || size < 1) {
      this.broken = true;
      this.started = Promise.resolve();
      return;
    }
    const boots: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, memory, ctrl: sab } });
      w.unref();
      this.workers.push(w);
      this.ready.push(false);
      boots.push(new Promise<void>((resolve) => {
        w.on('message', (m) => {
          const msg = m as { ready?: boolean; error?: string };
          if (msg.ready) this.ready[i] = true;
          else this.broken = true;
          resolve();
        });
        w.on('error', () => {
          this.broken = true;
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
   * Runs `tasks[0]` on the calling thread and the others on workers (at most `available` of them), waiting for
   * all. `local` runs a task on this thread (also used to recover the slice of a failed worker).
   */
  run(tasks: Task[], local: (t: Task) => void): void {
    const remote = tasks.slice(1);
    const seq = (this.seq = (this.seq % 0x3fffffff) + 1);
    remote.forEach((t, i) => this.workers[i].postMessage({ ...t, slot: i, seq }));
    local(tasks[0]);
    remote.forEach((t, i) => {
      const deadline = performance.now() + STALL_MS;
      let v = Atomics.load(this.ctrl, i);
      while (v !== seq && v !== -1 && performance.now() < deadline) {
        Atomics.wait(this.ctrl, i, v, 100);
        v = Atomics.load(this.ctrl, i);
      }
      if (v !== seq) {
        this.broken = true; // never trust the pool again; recompute the slice here (same numbers)
        local(t);
      }
    });
  }

  terminate(): void {
    this.broken = true;
    for (const w of this.workers) void w.terminate();
  }
}
