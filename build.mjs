// Bundles the library to dist/index.js (ESM, Node 20 and browsers) and the command line to dist/cli.js
// (Node). Types come from `tsc -p tsconfig.build.json`. Node-only modules (node:fs, node:worker_threads,
// webgpu) are loaded lazily behind runtime checks in the library, so the same bundle works in a browser.
import { build } from 'esbuild';

await build({
  entryPoints: ['index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external: ['node:*', 'webgpu'],
  logLevel: 'warning',
});

await build({
  entryPoints: ['cli/bin.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu'],
  logLevel: 'warning',
});
