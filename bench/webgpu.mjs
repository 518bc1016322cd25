// Runs bench/webgpu-kernels.ts: bundles it with esbuild into out/ (git-ignored) and imports the result.
// Usage: node bench/webgpu.mjs [--quick]
import { build } from 'esbuild';
import { pathToFileURL } from 'node:url';

const outfile = 'out/bench/webgpu-kernels.mjs';
await build({
  entryPoints: ['bench/webgpu-kernels.ts'],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['webgpu', '@tensorflow/*'],
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
