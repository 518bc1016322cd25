// Builds the static page into dist/web/ (or --out DIR): the page bundle (the library included), the HTML and
// the demo model's weights. The folder needs no network and works from any static host; serve.mjs adds the
// cross-origin-isolation headers that threaded WebAssembly needs.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildWeb(out = join(root, 'dist/web')) {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(root, 'web/main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    // no externals: the library reaches Node's modules only at run time (core/node-builtins.ts), so a
    // static node: import appearing here is a bug the build should stop at
    logLevel: 'warning',
    absWorkingDir: root,
  });
  copyFileSync(join(root, 'web/index.html'), join(out, 'index.html'));
  copyFileSync(join(root, 'cli/demo/weights/demo-resnet.safetensors'), join(out, 'demo-resnet.safetensors'));
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = await buildWeb(i > 0 ? resolve(process.argv[i + 1]) : undefined);
  console.log(`built ${out}`);
}
