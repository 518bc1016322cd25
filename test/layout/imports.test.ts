// The layout's rules, checked on the import graph: core/ imports no backend, backends never import each
// other, and image/ (codecs, resize, colormap) depends on nothing above core/.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(rel);
  }
  return out;
}

/** Every relative import of a file, as a path from the repository root. */
function importsOf(file: string): string[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...src.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).split('\\').join('/'));
}

function violations(dir: string, forbidden: string[]): string[] {
  const bad: string[] = [];
  for (const f of sourceFiles(dir)) {
    for (const target of importsOf(f)) {
      if (forbidden.some((p) => target === p || target.startsWith(p + '/'))) bad.push(`${f} imports ${target}`);
    }
  }
  return bad;
}

const BACKENDS = ['kernels/cpu', 'kernels/webgpu', 'kernels/wasm'];

describe('layout', () => {
  it('finds the files it checks (the rules below are not vacuous)', () => {
    expect(sourceFiles('core').length).toBeGreaterThan(20);
    expect(sourceFiles('kernels/cpu').length).toBeGreaterThan(5);
    expect(sourceFiles('kernels/webgpu').length).toBeGreaterThan(10);
    expect(sourceFiles('kernels/wasm').length).toBeGreaterThan(5);
    expect(importsOf('kernels/cpu/index.ts')).toContain('core/device');
  });

  it('core/ imports no backend and nothing above it', () => {
    expect(violations('core', [...BACKENDS, 'models', 'cam', 'image', 'cli', 'web'])).toEqual([]);
  });

  for (const b of BACKENDS) {
    it(`${b} imports no other backend`, () => {
      expect(sourceFiles(b).length).toBeGreaterThan(0);
      expect(violations(b, BACKENDS.filter((o) => o !== b).concat(['models', 'cam', 'cli']))).toEqual([]);
    });
  }

  it('models/ depends on core/, image/ and the backends only (not on cam/ or cli/)', () => {
    expect(violations('models', ['cam', 'cli', 'web'])).toEqual([]);
  });

  it('image/ depends on nothing above core/', () => {
    expect(violations('image', [...BACKENDS, 'models', 'cam', 'cli', 'web'])).toEqual([]);
  });
});
