// finercam as users get it: `npm pack`, installed into a fresh project, then the installed command run through
// npm's bin link, and the installed library bundled for a browser (esbuild and Vite, no flags) and run in
// headless Chromium. Expected numbers are PyTorch's (values in the comments were printed by torch 1.13).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';

let tmp: string;
let app: string;

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    const r = await run(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'finercam-packed-'));
  // npm pack runs the `prepare` build, so the tarball holds what this checkout builds now.
  const pack = await sh('npm', ['pack', '--json', '--pack-destination', tmp], ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  const tarball = join(tmp, JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0].filename);
  app = join(tmp, 'app');
  await sh('mkdir', ['-p', app], tmp);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const install = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  expect(install.code, install.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the installed command', () => {
  it('runs through the bin link npm made (node_modules/.bin/finercam)', async () => {
    const bin = join(app, 'node_modules/.bin/finercam');
    const help = await sh(bin, ['--help'], app);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: finercam <command>/);
    expect(help.stdout).toMatch(/\bexplain\b/);
    const sub = await sh('npx', ['--no-install', 'finercam', 'help', 'generate'], app);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--dataset/);
    const bad = await sh(bin, ['frobnicate'], app);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('explains an image with the bundled demo model', async () => {
    const image = join(app, 'photo.jpg');
    copyFileSync(join(ROOT, 'test/fixtures/images/jpeg/pil_synth61x47_q90_s2.jpg'), image);
    const out = join(app, 'explained.png');
    const r = await sh('npx', ['--no-install', 'finercam', 'explain', image, '--out', out, '--backend', 'cpu'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/main/i);
    const png = readFileSync(out);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }, 120_000);

  it('runs the look-alike demo (what `npm start` runs) from the installed package', async () => {
    // `npm start` in a checkout is this command; here it runs from the installed package's own files
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
    expect(start).toBe('node dist/cli.js demo --lookalike');
    const out = join(app, 'demo-out');
    const r = await sh('npx', ['--no-install', 'finercam', 'demo', '--lookalike', '--eval-size', '12', '--count', '1', '--out', out], app);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { n: number; accuracy: number; lookalikeRate: number; strips: string[] };
    expect(res.n).toBe(12);
    expect(r.stdout).toContain(`look-alike rate ${(100 * res.lookalikeRate).toFixed(1)}%`);
    expect(res.strips).toHaveLength(1);
    expect(existsSync(res.strips[0])).toBe(true);
  }, 120_000);

  it('runs on the wasm backend with the same categories as the CPU backend', async () => {
    const image = join(app, 'photo.jpg');
    const lines = async (backend: string) => {
      const r = await sh('npx', ['--no-install', 'finercam', 'explain', image, '--out', join(app, `explained-${backend}.png`), '--backend', backend], app);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`backend ${backend}\\b`));
      return r.stdout.split('\n').filter((l) => /^(Baseline|Finer-)/.test(l));
    };
    const cpu = await lines('cpu');
    expect(cpu).toHaveLength(3);
    expect(await lines('wasm')).toEqual(cpu);
  }, 120_000);

  it('imports as a library in Node', async () => {
    const script = "import * as F from 'finercam'; const y = F.softmax(F.tensor([1, 2, 3]), -1); console.log(JSON.stringify([...(await y.data())]));";
    const r = await sh('node', ['--input-type=module', '-e', script], app);
    expect(r.code, r.stderr).toBe(0);
    // torch.softmax(torch.tensor([1., 2., 3.]), -1) = [0.0900305733, 0.2447284758, 0.6652409434]
    const got = JSON.parse(r.stdout) as number[];
    [0.0900305733, 0.2447284758, 0.6652409434].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
  });
});

// The page computes a softmax and a 2×2 convolution with the installed library.
const PAGE_APP = `
import * as F from 'finercam';
const y = F.softmax(F.tensor([1, 2, 3]), -1);
const x = F.tensor(Float32Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
const w = F.tensor([1, -1, 2, 0.5], [1, 1, 2, 2]);
const c = F.conv2d(x, w, null, { stride: 2 });
globalThis.__result = { softmax: [...(await y.data())], conv: [...(await c.data())] };
`;

describe('the installed library in a browser', () => {
  it('bundles with esbuild --platform=browser and no other flags', async () => {
    writeFileSync(join(app, 'page.js'), PAGE_APP);
    const { build } = await import('esbuild');
    const r = await build({
      entryPoints: [join(app, 'page.js')], bundle: true, format: 'esm', platform: 'browser',
      outfile: join(app, 'out/esbuild.js'), write: true, logLevel: 'silent', absWorkingDir: app,
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.text)).toEqual([]);
  }, 60_000);

  it('bundles with Vite without node-module warnings', async () => {
    const vite = await import('vite');
    const warnings: string[] = [];
    const logger = vite.createLogger('warn');
    await vite.build({
      root: app, logLevel: 'warn', configFile: false,
      customLogger: { ...logger, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m) },
      build: { outDir: join(app, 'out/vite'), lib: { entry: join(app, 'page.js'), formats: ['es'], fileName: 'page' }, minify: false },
    });
    expect(warnings.filter((w) => /node:|externalized for browser|Module ".*" has been/.test(w))).toEqual([]);
    expect(existsSync(join(app, 'out/vite/page.js'))).toBe(true);
  }, 120_000);

  it('runs the bundle in headless Chromium and matches PyTorch', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setContent('<!doctype html><title>finercam</title>');
      await page.addScriptTag({ content: readFileSync(join(app, 'out/esbuild.js'), 'utf8'), type: 'module' });
      await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, null, { timeout: 30_000 });
      const res = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as { softmax: number[]; conv: number[] };
      expect(errors).toEqual([]);
      [0.0900305733, 0.2447284758, 0.6652409434].forEach((v, i) => expect(res.softmax[i]).toBeCloseTo(v, 6));
      // torch.nn.functional.conv2d(torch.arange(16.).view(1,1,4,4), torch.tensor([[[[1,-1],[2,.5]]]]), stride=2)
      //   = [[[[9.5, 14.5], [29.5, 34.5]]]]
      expect(res.conv).toEqual([9.5, 14.5, 29.5, 34.5]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
