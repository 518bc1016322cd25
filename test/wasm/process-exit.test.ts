// A Node script that used the wasm backend must end by itself. Its worker threads are unref'd, but the
// 'message' listener the pool attaches refs each worker's port again, so until that was undone such a
// script computed its result and then never exited. Unref'd too early, on the other hand, a script awaiting
// the workers' start (backend.ready(), as the benches do) had nothing keeping it alive and ended with exit
// code 13 (an unsettled top-level await). The library is bundled from source (as a user's bundler would) and
// run in a fresh process with one and with two threads, with and without waiting for the workers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('a process that used the wasm backend', () => {
  for (const [threads, awaitReady] of [[1, false], [2, false], [1, true], [2, true]] as const) {
    it(`exits by itself (${threads} thread${threads > 1 ? 's' : ''}${awaitReady ? ', after awaiting ready()' : ''})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'finercam-wasm-exit-'));
      try {
        const root = fileURLToPath(new URL('../../', import.meta.url));
        const entry = join(dir, 'entry.ts');
        writeFileSync(entry, [
          `import * as F from ${JSON.stringify(join(root, 'index.ts'))};`,
          `F.setCpuThreads(${threads});`,
          "await F.setDefaultDevice('wasm');",
          awaitReady ? "await (await F.getBackend('wasm')).ready();" : '',
          // big enough for the GEMM to be split over the threads
          'const a = F.tensor(new Float32Array(256 * 256).fill(1), [256, 256]);',
          'const c = await F.matmul(a, a).data();',
          "console.log(JSON.stringify({ device: F.getDefaultBackend().name, c: c[0] }));",
        ].join('\n'));
        await build({ entryPoints: [entry], outfile: join(dir, 'out.mjs'), bundle: true, format: 'esm', platform: 'node', logLevel: 'silent' });
        // execFileSync throws on its timeout: a worker or port keeping the process alive fails here
        const out = execFileSync(process.execPath, [join(dir, 'out.mjs')], { timeout: 20_000, encoding: 'utf8' });
        expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ device: 'wasm', c: 256 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
