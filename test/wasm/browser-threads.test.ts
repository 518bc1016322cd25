// The wasm backend's threads in a browser (headless Chromium): on a cross-origin isolated page (COOP/COEP, as
// web/serve.mjs serves) the GEMM runs on Web Workers over the shared memory — products are split, and the
// results equal the single-threaded ones bit for bit; on a page without isolation (no SharedArrayBuffer) the
// backend runs on one thread and says so once in the console. The library is index.ts bundled for the
// browser (esbuild, as build.mjs) into a temporary folder with a one-line page.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';

const ROOT = resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';

// What the page runs: a 384² product with every thread and with one, compared bit for bit.
const PAGE_SCRIPT = `
import * as F from './lib.js';
window.check = async () => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...a) => { warnings.push(a.join(' ')); warn(...a); };
  await F.setDefaultDevice('wasm');
  const b = await F.getBackend('wasm');
  await b.ready();
  const n = 384;
  F.manualSeed(1);
  const x = F.randn([n, n]), y = F.randn([n, n]);
  const threads = b.getThreads();
  const many = await F.matmul(x, y).data();
  const parallel = b.parallelProducts;
  b.setThreads(1);
  const one = await F.matmul(x, y).data();
  let same = many.length === one.length;
  for (let i = 0; i < one.length && same; i++) same = Object.is(many[i], one[i]);
  // a second backend: the one-thread notice is said once per page, not per backend
  new F.WasmBackend({ threads: 2 }).destroy();
  console.warn = warn;
  return { isolated: self.crossOriginIsolated === true, cores: navigator.hardwareConcurrency, threads, parallel, same, warnings };
};
`;

let dir: string;
const servers: Server[] = [];
let browser: Browser;

function serve(isolated: boolean): Promise<string> {
  const server = createServer(async (req, res) => {
    const headers: Record<string, string> = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
    const name = (req.url ?? '/') === '/' ? 'index.html' : (req.url ?? '').slice(1).split('?')[0];
    try {
      const body = await readFile(join(dir, name));
      res.writeHead(200, { ...headers, 'Content-Type': name.endsWith('.html') ? 'text/html' : 'text/javascript' });
      res.end(body);
    } catch {
      res.writeHead(404, headers);
      res.end();
    }
  });
  servers.push(server);
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  dir = mkdtempSync(join(tmpdir(), 'finercam-wasm-browser-'));
  const { build } = await import('esbuild');
  await build({ entryPoints: [join(ROOT, 'index.ts')], outfile: join(dir, 'lib.js'), bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'warning' });
  writeFileSync(join(dir, 'page.js'), PAGE_SCRIPT);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageResult { isolated: boolean; cores: number; threads: number; parallel: number; same: boolean; warnings: string[] }

async function runPage(isolated: boolean): Promise<PageResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(await serve(isolated));
  await page.waitForFunction(() => typeof (window as { check?: unknown }).check === 'function');
  const r = await page.evaluate(() => (window as unknown as { check: () => Promise<PageResult> }).check());
  await page.close();
  expect(errors).toEqual([]);
  return r;
}

describe('wasm backend threads in a browser', () => {
  test('cross-origin isolated: Web Workers share the memory and give the single-thread result bit for bit', async () => {
    const r = await runPage(true);
    expect(r.isolated).toBe(true);
    expect(r.cores).toBeGreaterThanOrEqual(2); // this machine (and CI) has two cores or more
    expect(r.threads).toBe(r.cores);
    expect(r.parallel).toBeGreaterThan(0);
    expect(r.same).toBe(true);
    expect(r.warnings).toEqual([]);
  }, 60_000);

  test('not isolated: one thread, said once', async () => {
    const r = await runPage(false);
    expect(r.isolated).toBe(false);
    expect(r.threads).toBe(1);
    expect(r.parallel).toBe(0);
    expect(r.same).toBe(true);
    expect(r.warnings.filter((w) => w.includes('one thread'))).toHaveLength(1);
  }, 60_000);
});
