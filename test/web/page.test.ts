// The static page (npm run web) in headless Chromium: built into a temporary folder, served by web/serve.mjs,
// driven through the test hooks of issue 11, and compared with the same library call in Node (CPU backend)
// within TOL.crossBackend. One browser for the file: a page on WebGPU (SwiftShader), and a page where
// navigator.gpu is removed before any script runs (the wasm/cpu fallback).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import * as F from '../../index';
import { renderBird } from '../../cli/demo/birds';
import { decodeNpy } from '../../cli/util/npy';
import { CHROMIUM, describeBrowser } from './browser';
import { expectSameMaps, excess, nodeClipReference, nodeReference, tinyClipWeights, type PageResult } from './reference';

const ROOT = resolve(__dirname, '../..');
const SHOTS = join(ROOT, 'out/web');
const STEP_KEYS = ['input', 'activations', 'target', 'gradients', 'channelWeights', 'weightedSum', 'relu', 'normalised', 'resized', 'combined', 'cam'];

let dir: string;
let server: Server;
let url: string;
let browser: Browser;
const errors: string[] = [];

async function open(query: string, opts: { noWebGPU?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && errors.push(`${query}: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`${query}: ${String(e)}`));
  if (opts.noWebGPU) await page.addInitScript(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
  await page.goto(`${url}${query}`);
  await waitDone(page);
  return page;
}

async function waitDone(page: Page, state = 'done'): Promise<void> {
  await page.waitForFunction((s) => document.querySelector('[data-testid="status"]')?.textContent === s, state, { timeout: 120_000 });
}

/** window.finercamResult with typed arrays as plain arrays (what crosses the page boundary). */
async function result(page: Page): Promise<PageResult> {
  return page.evaluate(() => {
    const r = window.finercamResult!;
    return {
      ...r,
      trace: { ...r.trace, logits: { shape: r.trace.logits.shape, data: Array.from(r.trace.logits.data) }, steps: r.trace.steps.map((s) => ({ ...s, data: Array.from(s.data) })) },
    };
  }) as Promise<PageResult>;
}

/** The page's counters: model forward passes (a forward hook), sessions made, explanations shown. */
async function forwardStats(page: Page): Promise<{ forwardPasses: number; sessions: number; explanations: number }> {
  return page.evaluate(() => ({ ...window.finercamStats! }));
}

/** Runs fn, then waits until the page has shown a result other than the one before. */
async function recompute(page: Page, fn: () => Promise<void>): Promise<void> {
  await page.evaluate(() => ((window as { before?: unknown }).before = window.finercamResult));
  await fn();
  await page.waitForFunction(() => window.finercamResult !== (window as { before?: unknown }).before && document.querySelector('[data-testid="status"]')?.textContent === 'done', null, { timeout: 120_000 });
}

describeBrowser('the page in headless Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'finercam-web-'));
    const { buildWeb } = (await import(join(ROOT, 'web/build.mjs'))) as { buildWeb: (out: string) => Promise<string> };
    const { serveWeb } = (await import(join(ROOT, 'web/serve.mjs'))) as { serveWeb: (d: string, port: number) => Promise<Server> };
    await buildWeb(dir);
    server = await serveWeb(dir, 0);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    mkdirSync(SHOTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the page on WebGPU (SwiftShader)', () => {
    it('loads without console errors, serves COOP/COEP, and its three maps of a demo bird equal Node\'s', async () => {
      const page = await open('?backend=webgpu');
      expect(await page.textContent('[data-testid="backend"]')).toMatch(/^webgpu — .*swiftshader/i);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      const r = await result(page);
      await expectSameMaps(r, await nodeReference(renderBird(0, 1, { size: 96 }).image));
      expect(await page.locator('[data-testid="top5"] li').count()).toBe(5);
      expect(await page.textContent('[data-testid="timings"]')).toMatch(/forward pass \(once per image and model\)[\d.]+ ms3 backward passes, maps, trace read-back[\d.]+ ms/);
      expect(await page.textContent('[data-testid="caption-finer-compare"]')).toMatch(/ vs /);
      await page.screenshot({ path: join(SHOTS, 'page-webgpu.png'), fullPage: true });
      // the trace of every mode equals Node's, step by step
      const ref = await nodeReference(renderBird(0, 1, { size: 96 }).image);
      const want = ref.trace!;
      expect(r.trace.steps.map((s) => [s.key, s.set, s.layer])).toEqual(want.steps.map((s) => [s.key, s.set, s.layer]));
      r.trace.steps.forEach((s, i) => expect(excess(s.data, want.steps[i].data), `${s.key} set ${s.set}`).toBeLessThanOrEqual(0));
      // α and the target class reuse the session on the device too: the maps follow, no forward pass runs
      const before = await forwardStats(page);
      await recompute(page, () => page.locator('#alpha').fill('0.3'));
      await recompute(page, async () => {
        await page.locator('#target').selectOption('2');
      });
      await expectSameMaps(await result(page), await nodeReference(renderBird(0, 1, { size: 96 }).image, { alpha: 0.3, targetIdx: 2 }));
      expect(await forwardStats(page)).toEqual({ ...before, explanations: before.explanations + 2 });
      expect(errors).toEqual([]);
      await page.close();
    }, 180_000);
  });

  describe('the page on WebGPU with a CLIP', () => {
    it('explains with a CLIP zero-shot classifier on the device too, and its maps equal Node\'s', async () => {
      const page = await open('?backend=webgpu');
      expect(await page.textContent('[data-testid="backend"]')).toMatch(/^webgpu — .*swiftshader/i);
      const weights = await tinyClipWeights(5);
      const bpe = readFileSync(join(ROOT, 'test/fixtures/clip/bpe_simple_vocab_16e6.txt.gz'));
      const prompts = ['a bird with a red crown', 'a bird with a brown crown', 'a small blue bird'];
      await page.locator('#prompts').fill(prompts.join('\n'));
      const files = [
        { name: 'clip.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ model: 'clip', visionHeads: 2, transformerHeads: 2 })) },
        { name: 'tiny-clip.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weights) },
        { name: 'bpe_simple_vocab_16e6.txt.gz', mimeType: 'application/gzip', buffer: bpe },
      ];
      await recompute(page, () => page.locator('#model-files').setInputFiles(files));
      const r = await result(page);
      expect(await page.textContent('#model-name')).toBe('clip zero-shot (3 prompts)');
      // the page's first image (the demo bird of the WebGPU test above), at the page's default α = 1
      await expectSameMaps(r, await nodeClipReference(renderBird(0, 1, { size: 96 }).image, weights, bpe, prompts, { alpha: 1 }));
      expect(errors).toEqual([]);
      await page.close();
    }, 180_000);
  });

  describe('the page without WebGPU (fallback)', () => {
    let page: Page;

    it('falls back to wasm or cpu, says why, and its maps equal Node\'s', async () => {
      page = await open('', { noWebGPU: true });
      expect(await page.textContent('[data-testid="backend"]')).toMatch(/^(wasm|cpu) — this browser has no WebGPU/);
      await expectSameMaps(await result(page), await nodeReference(renderBird(0, 1, { size: 96 }).image));
      expect(errors).toEqual([]);
    }, 120_000);

    it('the trace panel shows every step, and Grad-CAM\'s weights are the spatial mean of its gradients', async () => {
      const r = await result(page);
      expect(await page.locator('[data-testid="trace-step"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.key))).toEqual(STEP_KEYS);
      const set = 1; // Finer-Default is walked through by default
      const step = (key: string) => r.trace.steps.find((s) => s.key === key && (s.set === set || s.set === null))!;
      const G = step('gradients');
      const [, C, h, w] = G.shape;
      const mean = Array.from({ length: C }, (_, c) => G.data.slice(c * h * w, (c + 1) * h * w).reduce((a, b) => a + b, 0) / (h * w));
      expect(excess(step('channelWeights').data, mean)).toBeLessThanOrEqual(0);
      const target = r.trace.targets[set][0];
      expect(await page.locator('[data-testid="trace-step"][data-key="target"] code').textContent()).toBe(target.formula);
      expect(target.references).toEqual(r.references[set]);
      const ref = (await nodeReference(renderBird(0, 1, { size: 96 }).image)).trace!;
      expect(Math.abs(target.value - ref.targets[set][0].value)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(ref.targets[set][0].value));
      expect(Array.from(step('cam').data)).toEqual(r.cams['finer-default'].data);
    });

    it('the α slider recomputes the Finer maps without a forward pass', async () => {
      const before = await forwardStats(page);
      expect(before.forwardPasses).toBeGreaterThanOrEqual(1);
      await recompute(page, () => page.locator('#alpha').fill('0.5'));
      await expectSameMaps(await result(page), await nodeReference(renderBird(0, 1, { size: 96 }).image, { alpha: 0.5 }));
      expect((await result(page)).trace.targets[1][0].alpha).toBe(0.5);
      // the session's forward pass was reused: the model's forward hook did not fire, and the page says so
      expect(await forwardStats(page)).toEqual({ ...before, explanations: before.explanations + 1 });
      expect(await page.textContent('[data-testid="timings"]')).toMatch(/forward pass\s*none: reused this image's/);
      expect(await page.textContent('[data-testid="timings"]')).not.toMatch(/forward pass \(once per image and model\)/);
    });

    it('the target class, the reference ranks and the method recompute without a forward pass; bad ranks are a readable error', async () => {
      const bird = renderBird(0, 1, { size: 96 }).image;
      const before = await forwardStats(page);
      await recompute(page, async () => {
        await page.locator('#target').selectOption('5');
      });
      let r = await result(page);
      expect(r.mainCategories).toEqual([5, 5, 5]);
      await expectSameMaps(r, await nodeReference(bird, { alpha: 0.5, targetIdx: 5 }));
      expect((await forwardStats(page)).forwardPasses).toBe(before.forwardPasses);
      await recompute(page, async () => {
        await page.locator('#ranks').fill('2,4');
        await page.locator('#ranks').dispatchEvent('change');
      });
      await recompute(page, async () => {
        await page.locator('#method').selectOption('layercam');
      });
      r = await result(page);
      await expectSameMaps(r, await nodeReference(bird, { alpha: 0.5, targetIdx: 5, ranks: [2, 4], baseMethod: F.LayerCAM }));
      expect(await forwardStats(page)).toEqual({ forwardPasses: before.forwardPasses, sessions: before.sessions, explanations: before.explanations + 3 });
      expect(r.trace.method).toBe('LayerCAM');
      expect(await page.textContent('[data-testid="trace-step"][data-key="weightedSum"] code')).toBe('M = Σ_c relu(G_c) ⊙ A_c');
      await page.locator('#ranks').fill('two');
      await page.locator('#ranks').dispatchEvent('change');
      await waitDone(page, 'error');
      expect(await page.textContent('[data-testid="error"]')).toBe("reference ranks must be integers ≥ 1 separated by commas, got 'two'");
      // back to the defaults the later checks expect
      await page.locator('#ranks').fill('1,2,3');
      await page.locator('#method').selectOption('gradcam');
      await recompute(page, async () => {
        await page.locator('#target').selectOption('');
      });
      await expectSameMaps(await result(page), await nodeReference(bird, { alpha: 0.5 }));
    }, 120_000);

    it('explains a user image chosen with input[type=file], decoded by the project\'s decoder', async () => {
      const file = join(ROOT, 'test/fixtures/images/jpeg/BLUE_GROSBEAK.jpg');
      const before = await forwardStats(page);
      await recompute(page, () => page.locator('input[type=file]').first().setInputFiles(file));
      // a new image: a new session, one forward pass
      expect(await forwardStats(page)).toEqual({ forwardPasses: before.forwardPasses + 1, sessions: before.sessions + 1, explanations: before.explanations + 1 });
      expect(await page.textContent('[data-testid="timings"]')).toMatch(/forward pass \(once per image and model\)/);
      const r = await result(page);
      expect([r.width, r.height]).toEqual([224, 224]);
      await expectSameMaps(r, await nodeReference(F.decodeImage(new Uint8Array(readFileSync(file))), { alpha: 0.5 }));
      await page.screenshot({ path: join(SHOTS, 'page-user-image.png'), fullPage: true });
    }, 120_000);

    it('explains an image dropped on the drop zone', async () => {
      const file = join(ROOT, 'test/fixtures/images/jpeg/GRANDALA.jpg');
      const b64 = readFileSync(file).toString('base64');
      await recompute(page, async () => {
        const dt = await page.evaluateHandle((data) => {
          const t = new DataTransfer();
          t.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'GRANDALA.jpg', { type: 'image/jpeg' }));
          return t;
        }, b64);
        await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
      });
      await expectSameMaps(await result(page), await nodeReference(F.decodeImage(new Uint8Array(readFileSync(file))), { alpha: 0.5 }));
      expect(await page.textContent('#original-caption')).toMatch(/^GRANDALA\.jpg — /);
    }, 120_000);

    it('downloads the strip as PNG and the Finer-Default map as .npy', async () => {
      const [png] = await Promise.all([page.waitForEvent('download'), page.click('#download-strip')]);
      const strip = F.decodeImage(new Uint8Array(readFileSync((await png.path())!)));
      const r = await result(page);
      expect(strip.width).toBeGreaterThan(4 * r.width);
      const [npy] = await Promise.all([page.waitForEvent('download'), page.click('#download-npy')]);
      expect(npy.suggestedFilename()).toBe('finer-default.npy');
      const map = decodeNpy(new Uint8Array(readFileSync((await npy.path())!)));
      expect(map.shape).toEqual([r.height, r.width]);
      expect(Array.from(map.data)).toEqual(r.cams['finer-default'].data);
    }, 60_000);

    it('a bad file shows a readable error, and the page keeps working', async () => {
      const png = readFileSync(join(ROOT, 'test/fixtures/images/png', 'pilpng_RGB.png'));
      await page.locator('input[type=file]').first().setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: png.subarray(0, 60) });
      await waitDone(page, 'error');
      const box = page.locator('[data-testid="error"]');
      expect(await box.isVisible()).toBe(true);
      expect(await box.textContent()).toMatch(/^Cannot read 'broken\.png' as an image: \S/);
      await page.screenshot({ path: join(SHOTS, 'page-error.png') });
      await recompute(page, async () => {
        await page.locator('#bird').selectOption('4');
      });
      expect(await box.isVisible()).toBe(false);
      await expectSameMaps(await result(page), await nodeReference(renderBird(4, 1, { size: 96 }).image, { alpha: 0.5 }));
      // a model options file without weights is refused the same way
      await page.locator('#model-files').setInputFiles({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from('{"model": "resnet18"}') });
      await waitDone(page, 'error');
      expect(await box.textContent()).toMatch(/resnet18' needs its weights/);
      expect(errors).toEqual([]);
    }, 120_000);

    it('loads a visitor\'s model from options JSON + weights + class names picked as files', async () => {
      const names = Array.from({ length: 12 }, (_, k) => `Species ${String.fromCharCode(65 + k)}`);
      const files = [
        { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ block: 'basic', layers: [1, 1, 1, 1], widths: [16, 32, 64, 128], targetLayer: 'layer3', norm: 'imagenet' })) },
        { name: 'weights.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(join(ROOT, 'cli/demo/weights/demo-resnet.safetensors')) },
        { name: 'classes.txt', mimeType: 'text/plain', buffer: Buffer.from(names.join('\n')) },
      ];
      await recompute(page, () => page.locator('#model-files').setInputFiles(files));
      const r = await result(page);
      // the demo's weights under another name: the demo's numbers, with the visitor's class names
      await expectSameMaps(r, await nodeReference(renderBird(4, 1, { size: 96 }).image, { alpha: 0.5 }));
      expect(await page.textContent('[data-testid="caption-finer-compare"]')).toBe(`Finer-Compare: ${names[r.mainCategories[2]]} vs ${names[r.references[2][0]]}`);
      expect(await page.locator('[data-testid="error"]').isVisible()).toBe(false);
      expect(errors).toEqual([]);
    }, 120_000);

    it('loads a CLIP zero-shot classifier from options JSON + weights + tokenizer + typed prompts, and its maps equal Node\'s', async () => {
      const bird = renderBird(4, 1, { size: 96 }).image;
      const weights = await tinyClipWeights(5);
      const bpe = readFileSync(join(ROOT, 'test/fixtures/clip/bpe_simple_vocab_16e6.txt.gz'));
      const prompts = ['a bird with a red crown', 'a bird with a brown crown', 'a bird with a grey crown', 'a small blue bird', 'a large black bird'];
      // one per line and '|'-separated, mixed
      await page.locator('#prompts').fill(`${prompts[0]}\n${prompts[1]} | ${prompts[2]}\n\n${prompts[3]}|${prompts[4]}`);
      const files = [
        { name: 'clip.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ model: 'clip', visionHeads: 2, transformerHeads: 2 })) },
        { name: 'tiny-clip.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weights) },
        { name: 'bpe_simple_vocab_16e6.txt.gz', mimeType: 'application/gzip', buffer: bpe },
      ];
      const before = await forwardStats(page);
      await recompute(page, () => page.locator('#model-files').setInputFiles(files));
      let r = await result(page);
      expect([r.width, r.height]).toEqual([32, 32]); // CLIP's centre crop at its resolution
      await expectSameMaps(r, await nodeClipReference(bird, weights, bpe, prompts, { alpha: 0.5 }));
      expect(await page.textContent('#model-name')).toBe('clip zero-shot (5 prompts)');
      expect(await page.textContent('[data-testid="caption-finer-compare"]')).toBe(`Finer-Compare: ${prompts[r.mainCategories[2]]} vs ${prompts[r.references[2][0]]}`);
      expect((await forwardStats(page)).forwardPasses).toBe(before.forwardPasses + 1);
      // α and the target prompt reuse the CLIP's forward pass
      await recompute(page, () => page.locator('#alpha').fill('1'));
      await recompute(page, async () => {
        await page.locator('#target').selectOption('3');
      });
      r = await result(page);
      expect(r.mainCategories).toEqual([3, 3, 3]);
      await expectSameMaps(r, await nodeClipReference(bird, weights, bpe, prompts, { alpha: 1, targetIdx: 3 }));
      expect((await forwardStats(page)).forwardPasses).toBe(before.forwardPasses + 1);
      await page.screenshot({ path: join(SHOTS, 'page-clip.png'), fullPage: true });
      // a template rebuilds the classifier from the same files (the prompts become class names)
      await page.locator('#target').selectOption('');
      await recompute(page, async () => {
        await page.locator('#template').fill('a photo of {}.');
        await page.locator('#template').dispatchEvent('change');
      });
      await expectSameMaps(await result(page), await nodeClipReference(bird, weights, bpe, prompts, { alpha: 1, template: 'a photo of {}.' }));
      expect(await page.textContent('#model-name')).toBe("clip zero-shot (5 prompts, template 'a photo of {}.')");
      // no tokenizer, or too few prompts: readable errors, and the page keeps its CLIP result
      await page.locator('#model-files').setInputFiles(files.slice(0, 2));
      await waitDone(page, 'error');
      expect(await page.textContent('[data-testid="error"]')).toMatch(/^CLIP needs its tokenizer: OpenAI's bpe_simple_vocab_16e6\.txt\.gz/);
      await page.locator('#prompts').fill('only one prompt');
      await page.locator('#prompts').dispatchEvent('change');
      await page.waitForFunction(() => document.querySelector('[data-testid="error"]')?.textContent?.startsWith('a CLIP classifier'), null, { timeout: 60_000 });
      expect(await page.textContent('[data-testid="error"]')).toBe("a CLIP classifier needs at least two prompts (one per line or separated by '|'), got 1");
      expect(await page.textContent('#model-name')).toBe("clip zero-shot (5 prompts, template 'a photo of {}.')");
      expect(errors).toEqual([]);
    }, 180_000);
  });
});
