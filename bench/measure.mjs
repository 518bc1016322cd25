// Timing helper shared by the benches: median of several reps after warm-up, on a machine that may be shared.
// On Linux each rep also reads /proc/stat (busy CPU time of the whole machine) and this process's own CPU time
// (all its threads); a rep during which *other* processes kept more than 0.25 of a core busy is dropped and
// retried, so a neighbour's burst does not end up in the median. Elsewhere every rep counts.
import { readFileSync } from 'node:fs';

/** Busy CPU time of the whole machine in ms (all processes), or null off Linux. */
export function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal — in USER_HZ (100 per second on Linux)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10;
  } catch {
    return null;
  }
}

/** Waits (up to maxMs) until other processes have used less than maxOther cores over a 250 ms window. */
export async function waitQuiet({ maxMs = 20_000, maxOther = 0.25 } = {}) {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const b0 = machineBusyMs();
    if (b0 === null) return true;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, 250));
    const c = process.cpuUsage(c0);
    const other = (machineBusyMs() - b0 - (c.user + c.system) / 1000) / (performance.now() - w0);
    if (other < maxOther) return true;
  }
  return false;
}

/**
 * Times `fn` (sync or async): the median of `reps` kept reps after `warmup` runs. A rep calls fn often enough
 * to last ≥ minRepMs (so /proc/stat's 10 ms ticks can tell whether it was disturbed); the reported time is per
 * call. Reps during which other processes used more than maxOther cores are retried (up to maxTries reps in
 * all). If too few clean reps come together, the median of all reps is reported with noisy = true.
 * Returns { ms, cpuMs (this process's CPU time per call, all threads: median), calls (per rep), reps, dropped,
 * noisy, otherCores (mean over the reps used) }.
 */
export async function measure(fn, { warmup = 2, reps = 5, maxTries = reps * 4, minRepMs = 50, maxOther = 0.25 } = {}) {
  let last = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await fn();
    last = performance.now() - t0;
  }
  const calls = Math.max(1, Math.ceil(minRepMs / Math.max(last, 1e-3)));
  const clean = [], all = [];
  for (let tries = 0; clean.length < reps && tries < maxTries; tries++) {
    const b0 = machineBusyMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    const ms = (performance.now() - t0) / calls;
    const c = process.cpuUsage(c0);
    const b1 = machineBusyMs();
    const other = b0 === null ? 0 : Math.max(0, (b1 - b0 - (c.user + c.system) / 1000) / (ms * calls));
    const rep = { ms, cpuMs: (c.user + c.system) / 1000 / calls, other };
    all.push(rep);
    if (b0 === null || other <= maxOther) clean.push(rep);
  }
  const noisy = clean.length < Math.ceil(reps / 2);
  const used = noisy ? all : clean;
  const times = used.map((r) => r.ms).sort((a, b) => a - b);
  const n = times.length;
  const ms = n % 2 ? times[n >> 1] : (times[n / 2 - 1] + times[n / 2]) / 2;
  const cpu = used.map((r) => r.cpuMs).sort((a, b) => a - b);
  const cpuMs = n % 2 ? cpu[n >> 1] : (cpu[n / 2 - 1] + cpu[n / 2]) / 2;
  return { ms, cpuMs, calls, reps: n, dropped: all.length - clean.length, noisy, otherCores: used.reduce((s, r) => s + r.other, 0) / n };
}

/** A plain-text table with right-aligned numeric columns. */
export function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
