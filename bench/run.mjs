// Runs the benchmarks (`npm run bench`, after build.mjs has written dist/index.js): every bench/*-bench.mjs,
// or only those named on the command line (`node bench/run.mjs cpu`), one at a time, each in its own Node
// process so that one bench's JIT state, worker threads and memory do not leak into the next.
// Extra flags after `--` go to every bench (e.g. `node bench/run.mjs -- --quick`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, '..', 'dist', 'index.js'))) {
  console.error('bench: dist/index.js is missing; run `node build.mjs` first (npm run bench does)');
  process.exit(1);
}
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const names = dash < 0 ? argv : argv.slice(0, dash);
const extra = dash < 0 ? [] : argv.slice(dash + 1);
const all = readdirSync(here).filter((f) => f.endsWith('-bench.mjs')).sort();
const chosen = names.length ? all.filter((f) => names.some((n) => f.startsWith(n))) : all;
if (names.length && chosen.length === 0) {
  console.error(`bench: no bench matches ${names.join(', ')} (have: ${all.join(', ')})`);
  process.exit(1);
}
let failed = 0;
for (const f of chosen) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, [join(here, f), ...extra], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
