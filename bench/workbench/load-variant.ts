// Loads a kernel-variant module given on the command line. A .js/.mjs file is imported as it is; a .ts file
// is bundled first with esbuild (a devDependency: a clear error says how to get it). The module's default
// export is either a variant ({ op, name, run }) or a function of the kit returning one — the kit form needs
// no runtime import of finercam, so the variant uses the very runtime it is measured in.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VARIANT_OPS, variantKit, type KernelVariant } from '../../kernels/webgpu/variants';

export class VariantLoadError extends Error {}

async function importTs(path: string): Promise<unknown> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import(/* @vite-ignore */ ['esbuild'][0]);
  } catch {
    throw new VariantLoadError(`'${path}' is TypeScript and esbuild is not installed here: npm i -D esbuild, or pass a .js file`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'finercam-variant-'));
  try {
    const outfile = join(dir, 'variant.mjs');
    await esbuild.build({ entryPoints: [path], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' });
    return await import(pathToFileURL(outfile).href);
  } catch (e) {
    throw new VariantLoadError(`'${path}' cannot be compiled: ${(e as Error).message}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadVariant(file: string): Promise<KernelVariant> {
  const path = resolve(file);
  const ext = extname(path).toLowerCase();
  if (!['.ts', '.js', '.mjs'].includes(ext)) throw new VariantLoadError(`'${file}': expected a .ts, .js or .mjs module`);
  let mod: { default?: unknown };
  try {
    mod = (ext === '.ts' ? await importTs(path) : await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    if (e instanceof VariantLoadError) throw e;
    throw new VariantLoadError(`'${file}' cannot be loaded: ${(e as Error).message}`);
  }
  const exported = typeof mod.default === 'function' ? (mod.default as (kit: typeof variantKit) => unknown)(variantKit) : mod.default;
  const v = exported as Partial<KernelVariant> | undefined;
  if (!v || typeof v !== 'object' || typeof v.run !== 'function' || typeof v.name !== 'string' || !VARIANT_OPS.includes(v.op as never)) {
    throw new VariantLoadError(
      `'${file}' must export default a variant { op: ${VARIANT_OPS.map((o) => `'${o}'`).join(' | ')}, name: string, run(host, ...) } or a function (kit) => variant`,
    );
  }
  return v as KernelVariant;
}
