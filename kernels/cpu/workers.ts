// Worker threads for large matrix products on Node, behind a synchronous API.
//
// The CPU backend is synchronous, so a product cannot await a worker. Instead:
//  - each worker runs the same blocked kernel (gemm-kernel.ts, stringified into the worker's source) in a loop
//    that sleeps in Atomics.wait on its own little control block (an Int32Array on a SharedArrayBuffer);
//  - the calling thread copies A and B into one SharedArrayBuffer (a memcpy, small next to the product),
//    writes each worker's job (its slice of C's columns, or rows when C is tall and thin) into the control
//    block, wakes the workers, computes the first slice itself straight into C, then Atomics.waits until
//    each worker reports done and copies the workers' slices of C back.
//  - New shared buffers reach the workers through a MessagePort that they drain synchronously with
//    receiveMessageOnPort on each wake-up, so nothing depends on either thread's event loop.
//
// Everything is loaded lazily: `node:worker_threads` comes from process.getBuiltinModule (Node ≥ 20.16), so
// there is no import for a browser bundler to trip over; without it (browsers, older Node) or with
// setCpuThreads(1), every product runs on the calling thread. Workers are started by the first large product
// (which itself runs single-threaded, since a worker needs tens of milliseconds to boot) and are unref'd, so
// they never keep a process alive. If a worker fails or stalls, its slice is computed on the calling thread
// and the pool is switched off for good rather than risking a hang.
import type { Worker } from 'node:worker_threads';
import type { TypedArray } from '../../core/dtype';
import type { GemmKernel } from './gemm-kernel';
import { createGemmKernel } from './gemm-kernel';

// Layout of a worker's control block (int32 slots).
const REQ = 0; // job counter, bumped by the caller
const DONE = 1; // last job finished, written by the worker
const STATUS = 2; // 0 = ok, 1 = the last job threw
const READY = 3; // 1 once the worker has booted and warmed up its kernel
const DTYPE = 4; // 0 float32, 1 float64, 2 int32: which view of the shared buffer the job uses
const JOB = 5; // m, n, k, aOff, lda, bOff, ldb, cOff, ldc (in elements of that view)
const CTRL_INTS = 16;

const MAX_THREADS = 8;
/** A worker slower than this many times the caller's own slice (and 2 s) is considered stuck. */
const STALL_FACTOR = 50;

interface Slot {
  worker: Worker;
  ctrl: Int32Array;
  port: { postMessage(v: unknown): void; close(): void };
  jobs: number;
  buffer: SharedArrayBuffer | null;
  dead: boolean;
}

type NodeProcess = { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> };

function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p && typeof p.getBuiltinModule === 'function' ? p : null;
}

function defaultThreads(): number {
  const proc = nodeProcess();
  if (!proc) return 1;
  const env = proc.env?.FINERCAM_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return Math.min(n, MAX_THREADS);
  }
  const os = proc.getBuiltinModule!('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
  const cores = os ? (os.availableParallelism ? os.availableParallelism() : os.cpus().length) : 1;
  return Math.max(1, Math.min(cores, MAX_THREADS));
}

let wanted: number | null = null; // total threads (caller + workers); null until first asked
let slots: Slot[] = [];
let started = false;
let unavailable = false; // no worker_threads / SharedArrayBuffer, or the pool broke
let shared: SharedArrayBuffer | null = null;
let parallelCalls = 0;

function threadsWanted(): number {
  if (wanted === null) wanted = defaultThreads();
  return wanted;
}

/**
 * Sets how many threads the CPU backend's matrix products may use (the calling thread included), as
 * torch.set_num_threads. 1 turns the worker threads off. The default is the number of cores (at most 8),
 * or the FINERCAM_CPU_THREADS environment variable. Has no effect where worker threads are unavailable.
 */
export function setCpuThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`setCpuThreads: n must be an integer ≥ 1, got ${String(n)}`);
  }
  wanted = Math.min(n, MAX_THREADS);
  if (slots.length > wanted - 1) {
    for (const s of slots.slice(wanted - 1)) stop(s);
    slots = slots.slice(0, wanted - 1);
  }
  if (started && slots.length < wanted - 1) spawn();
}

/** Threads the CPU backend's matrix products use now (1 until the workers have booted, or without them). */
export function getCpuThreads(): number {
  if (unavailable) return 1;
  return 1 + Math.min(threadsWanted() - 1, slots.filter(isReady).length);
}

/**
 * Starts the worker threads now (rather than on the first large product) and blocks until they are ready
 * or `timeoutMs` has passed. Returns the number of threads then available. For benchmarks and tests.
 */
export function startCpuWorkers(timeoutMs = 10_000): number {
  if (!started) spawn();
  const deadline = performance.now() + timeoutMs;
  for (const s of slots) {
    while (!s.dead && Atomics.load(s.ctrl, READY) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(s.ctrl, READY, 0, Math.min(left, 50));
    }
  }
  return getCpuThreads();
}

/** How many products were split across threads so far (for tests). */
export function parallelGemmCalls(): number {
  return parallelCalls;
}

function isReady(s: Slot): boolean {
  return !s.dead && Atomics.load(s.ctrl, READY) === 1;
}

function stop(s: Slot): void {
  s.dead = true;
  s.port.close();
  void s.worker.terminate();
}

function workerSource(): string {
  return `'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const kernel = (${createGemmKernel.toString()})();
const { ctrl, port } = workerData;
// Let V8 optimise the kernel for both float types before the first real job.
for (const T of [Float32Array, Float64Array]) {
  const a = new T(48 * 300).fill(1);
  for (let r = 0; r < 4; r++) kernel.gemm(48, 48, 300, a, 0, 300, a, 0, 48, new T(48 * 48), 0, 48);
}
let views = null;
let seen = 0;
Atomics.store(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
for (;;) {
  Atomics.wait(ctrl, ${REQ}, seen);
  seen = Atomics.load(ctrl, ${REQ});
  for (let msg; (msg = receiveMessageOnPort(port)); ) {
    views = [new Float32Array(msg.message), new Float64Array(msg.message), new Int32Array(msg.message)];
  }
  let status = 0;
  try {
    const v = views[ctrl[${DTYPE}]];
    const j = ${JOB};
    kernel.gemm(ctrl[j], ctrl[j + 1], ctrl[j + 2], v, ctrl[j + 3], ctrl[j + 4], v, ctrl[j + 5], ctrl[j + 6], v, ctrl[j + 7], ctrl[j + 8]);
  } catch (e) {
    status = 1;
  }
  Atomics.store(ctrl, ${STATUS}, status);
  Atomics.store(ctrl, ${DONE}, seen);
  Atomics.notify(ctrl, ${DONE});
}
`;
}

function spawn(): void {
  started = true;
  const proc = nodeProcess();
  const wt = proc?.getBuiltinModule!('node:worker_threads') as typeof import('node:worker_threads') | undefined;
  if (!wt || typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    unavailable = true;
    return;
  }
  const source = workerSource();
  try {
    while (slots.length < threadsWanted() - 1) {
      const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
      const { port1, port2 } = new wt.MessageChannel();
      const worker = new wt.Worker(source, { eval: true, workerData: { ctrl, port: port2 }, transferList: [port2] });
      worker.unref();
      const slot: Slot = { worker, ctrl, port: port1, jobs: 0, buffer: null, dead: false };
      worker.on('error', () => { slot.dead = true; });
      worker.on('exit', () => { slot.dead = true; });
      slots.push(slot);
    }
  } catch {
    unavailable = true;
  }
}

function giveUp(): void {
  unavailable = true;
  for (const s of slots) stop(s);
  slots = [];
  shared = null;
}

function dtypeCode(A: TypedArray, B: TypedArray, C: TypedArray): number {
  if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) return 0;
  if (A instanceof Float64Array && B instanceof Float64Array && C instanceof Float64Array) return 1;
  if (A instanceof Int32Array && B instanceof Int32Array && C instanceof Int32Array) return 2;
  return -1;
}

function sharedView(code: number, buf: SharedArrayBuffer): TypedArray {
  return code === 0 ? new Float32Array(buf) : code === 1 ? new Float64Array(buf) : new Int32Array(buf);
}

/**
 * Computes C = A·B (as gemm) split over the calling thread and the ready workers. Returns false, having done
 * nothing, when the product should run on the calling thread instead (no workers yet, too narrow to split).
 */
export function parallelGemm(
  M: number, N: number, K: number,
  A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number,
  local: GemmKernel,
): boolean {
  if (unavailable || threadsWanted() < 2) return false;
  if (!started) {
    spawn(); // this product runs here; later ones use the workers once they are up
    return false;
  }
  const workers = slots.filter(isReady);
  const code = dtypeCode(A, B, C);
  // Split the longer side of C into equal slices of at least 4 register tiles, each a whole number of tiles.
  const byCols = N >= M;
  const dim = byCols ? N : M;
  const tile = byCols ? local.nr : local.mr;
  const parts = Math.min(workers.length + 1, Math.floor(dim / (4 * tile)));
  if (parts < 2 || code < 0) return false;
  const step = Math.ceil(dim / parts / tile) * tile;
  const starts: number[] = [];
  for (let s = 0; s < dim; s += step) starts.push(s);
  const len = (p: number): number => Math.min(step, dim - starts[p]);

  // Shared layout: A (M·K) | B (K·N) | worker 1's slice of C | worker 2's | ...
  const outOff: number[] = [];
  let total = M * K + K * N;
  for (let p = 1; p < starts.length; p++) {
    outOff.push(total);
    total += len(p) * (byCols ? M : N);
  }
  const bytes = total * C.BYTES_PER_ELEMENT;
  if (!shared || shared.byteLength < bytes) shared = new SharedArrayBuffer(Math.ceil((bytes * 1.25) / 8) * 8);
  const view = sharedView(code, shared);
  view.set(A.subarray(aOff, aOff + M * K), 0);
  view.set(B.subarray(bOff, bOff + K * N), M * K);

  const jobs: { slot: Slot; p: number }[] = [];
  for (let p = 1; p < starts.length; p++) {
    const slot = workers[p - 1];
    if (slot.buffer !== shared) {
      slot.port.postMessage(shared);
      slot.buffer = shared;
    }
    const s0 = starts[p], l = len(p);
    const job = byCols
      ? [M, l, K, 0, K, M * K + s0, N, outOff[p - 1], l] // all rows, columns s0..s0+l
      : [l, N, K, s0 * K, K, M * K, N, outOff[p - 1], N]; // rows s0..s0+l, all columns
    slot.ctrl[DTYPE] = code;
    for (let i = 0; i < job.length; i++) slot.ctrl[JOB + i] = job[i];
    slot.jobs++;
    Atomics.store(slot.ctrl, REQ, slot.jobs);
    Atomics.notify(slot.ctrl, REQ);
    jobs.push({ slot, p });
  }

  // The caller's own slice, straight into C.
  const t0 = performance.now();
  if (byCols) local.gemm(M, len(0), K, A, aOff, K, B, bOff, N, C, cOff, N);
  else local.gemm(len(0), N, K, A, aOff, K, B, bOff, N, C, cOff, N);
  const deadline = performance.now() + Math.max(2000, STALL_FACTOR * (performance.now() - t0));

  let failed = false;
  for (const { slot, p } of jobs) {
    let done: number;
    while (!failed && (done = Atomics.load(slot.ctrl, DONE)) !== slot.jobs) {
      const left = deadline - performance.now();
      if (left <= 0 || slot.dead) failed = true;
      else Atomics.wait(slot.ctrl, DONE, done, left);
    }
    const s0 = starts[p], l = len(p);
    if (failed || Atomics.load(slot.ctrl, STATUS) !== 0) {
      failed = true;
      if (byCols) local.gemm(M, l, K, A, aOff, K, B, bOff + s0, N, C, cOff + s0, N);
      else local.gemm(l, N, K, A, aOff + s0 * K, K, B, bOff, N, C, cOff + s0 * N, N);
    } else if (byCols) {
      for (let i = 0, o = outOff[p - 1]; i < M; i++, o += l) C.set(view.subarray(o, o + l), cOff + i * N + s0);
    } else {
      C.set(view.subarray(outOff[p - 1], outOff[p - 1] + l * N), cOff + s0 * N);
    }
  }
  if (failed) giveUp();
  parallelCalls++;
  return true;
}
