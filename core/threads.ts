// One thread setting for every backend that computes on this machine's cores — the cpu backend's worker
// threads and the wasm backend's GEMM threads. setCpuThreads(n) records it here; each backend applies it
// through the listener it registered (core knows no backend), now and whenever it changes.
type Listener = (n: number) => void;

const listeners = new Set<Listener>();
let limit: number | null = null;

/** Threads (the calling thread included) that CPU-side backends may use. */
export function setCpuThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`setCpuThreads: n must be an integer ≥ 1, got ${String(n)}`);
  }
  limit = n;
  for (const fn of listeners) fn(n);
}

/** Called by a backend: applies the current setting (if any was made) at once, then every later one. */
export function onCpuThreads(fn: Listener): () => void {
  listeners.add(fn);
  if (limit !== null) fn(limit);
  return () => listeners.delete(fn);
}
