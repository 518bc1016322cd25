// bench/cam.mjs in interleaved rounds, for a shared machine whose load changes by the minute: each round runs
// every contender once, in its own fresh process, one after the other (the order rotates each round), so all
// of them see the same stretch of load; the table gives each contender's median and fastest pass over all
// rounds and, per peer, the median of the per-round ratios ours / peer (the robust number here).
//
//   node build.mjs && node bench/cam-rounds.mjs [--models resnet50,vits14] [--rounds N] [--reps N]
//        [--peers tfjs-wasm,torch] [--backend wasm] [--threads N]
// --threads N: ours (setCpuThreads) and PyTorch (torch.set_num_threads) on N threads (default: ours on every
// core, torch on 2); tfjs-wasm always runs one thread. With 1, every contender needs one core, which a busy
// 2-core machine disturbs least.
// A contender's process does what cam.mjs does for it (ours: --backends <backend> --peers none; torch:
// bench/torch_models.py --mode cam; tfjs-wasm: cam.mjs --child tfjs-wasm, ResNet-50 only) with one warm-up
// (two for torch) and exactly --reps timed passes (FINERCAM_BENCH_NO_RETRY=1: no retrying of disturbed
// passes, which on a busy machine would stretch one contender's turn to 30 s and break the interleaving),
// --quiet-wait 0.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { HERE, ROOT, printTable, readOptions } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
const o = { models: ['resnet50', 'vits14'], rounds: 4, reps: 2, peers: ['tfjs-wasm', 'torch'], backend: 'wasm', threads: null };
readOptions(process.argv.slice(2), SELF, (a, next, int) => {
  if (a === '--models') o.models = next().split(',');
  else if (a === '--rounds') o.rounds = int();
  else if (a === '--reps') o.reps = int();
  else if (a === '--peers') o.peers = next().split(',').filter(Boolean);
  else if (a === '--backend') o.backend = next();
  else if (a === '--threads') o.threads = int();
  else return false;
  return true;
});

const CAM = join(HERE, 'cam.mjs');
process.env.FINERCAM_BENCH_NO_RETRY = '1'; // children inherit it: exactly --reps passes each, disturbed or not
function lastJson(out) {
  try {
    return JSON.parse(out.trim().split('\n').pop());
  } catch {
    return null;
  }
}
/** Pass times (ms) of one contender on one model, or null. */
function runOnce(who, model) {
  if (who === 'ours') {
    const json = join(tmpdir(), `cam-rounds-${process.pid}.json`);
    spawnSync(process.execPath, [CAM, '--backends', o.backend, '--models', model, '--peers', 'none', '--reps', String(o.reps), '--warmup', '1', '--quiet-wait', '0', '--json', json, ...(o.threads ? ['--threads', String(o.threads)] : [])], { encoding: 'utf8', cwd: ROOT });
    try {
      const j = JSON.parse(readFileSync(json, 'utf8'));
      rmSync(json);
      return j.ours[0]?.times ?? null;
    } catch {
      return null;
    }
  }
  if (who === 'torch') {
    const r = spawnSync('/usr/bin/python3', [join(HERE, 'torch_models.py'), '--mode', 'cam', '--models', model, '--reps', String(o.reps), '--warmup', '2', '--quiet-wait', '0', ...(o.threads ? ['--threads', String(o.threads)] : [])], { encoding: 'utf8' });
    const j = lastJson(r.stdout);
    return j?.available ? j.results[model].cam.times : null;
  }
  if (model !== 'resnet50') return null; // the tfjs peers are ResNet-50 only
  const r = spawnSync(process.execPath, [CAM, '--child', who, `--${who}-reps`, String(o.reps), '--quiet-wait', '0'], { encoding: 'utf8', cwd: ROOT });
  const j = lastJson(r.stdout);
  return j?.available ? j.results.resnet50.times : null;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rows = [['model', 'contender', 'median ms', 'fastest ms', 'passes', 'ours/peer (median of rounds)', 'ours/peer (fastest)']];
for (const model of o.models) {
  const who = ['ours', ...o.peers.filter((p) => p === 'torch' || model === 'resnet50')];
  const times = Object.fromEntries(who.map((w) => [w, []]));
  const perRound = Object.fromEntries(who.map((w) => [w, []]));
  const loads = [];
  for (let r = 0; r < o.rounds; r++) {
    loads.push(loadavg()[0]);
    const order = who.map((_, i) => who[(i + r) % who.length]);
    for (const w of order) {
      const t = runOnce(w, model);
      if (t) {
        times[w].push(...t);
        perRound[w].push(median(t));
      } else perRound[w].push(null);
    }
    process.stdout.write(`${model} round ${r + 1}/${o.rounds}: ${who.map((w) => `${w} ${perRound[w][r]?.toFixed(0) ?? '—'}`).join(', ')} (load ${loads[r].toFixed(1)})\n`);
  }
  for (const w of who) {
    const ratios = perRound.ours.map((v, i) => (v && perRound[w][i] ? v / perRound[w][i] : null)).filter((v) => v !== null);
    rows.push([model, w === 'ours' ? `ours ${o.backend}` : w, times[w].length ? median(times[w]).toFixed(0) : '—', times[w].length ? Math.min(...times[w]).toFixed(0) : '—', times[w].length,
      w === 'ours' || !ratios.length ? '—' : `${median(ratios).toFixed(2)}×`,
      w === 'ours' || !times[w].length || !times.ours.length ? '—' : `${(Math.min(...times.ours) / Math.min(...times[w])).toFixed(2)}×`]);
  }
  console.log(`${model}: load average (1 min) at the start of each round: ${loads.map((l) => l.toFixed(1)).join(', ')}`);
}
console.log('');
printTable(rows);
console.log('ours/peer < 1: we are faster. Every pass of every round counts (none retried beyond what cam.mjs / torch_models.py do).');
