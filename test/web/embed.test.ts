// examples/embed.html, the documented embedding example: under 40 lines, served beside a package laid out as
// `npm install finercam` leaves it (dist/index.js built with build.mjs's library settings, the demo
// weights), it draws the Grad-CAM of a user image that equals the same calls in Node.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as F from '../../index';
import { loadDemoModel } from '../../cli/demo/model';
import { CHROMIUM, describeBrowser } from './browser';

const ROOT = resolve(__dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/embed.html');
let dir = '';

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeBrowser('the embedding example', () => {
  it('is one HTML file under 40 lines that draws a Grad-CAM equal to Node\'s', async () => {
    expect(readFileSync(EXAMPLE, 'utf8').trimEnd().split('\n').length).toBeLessThan(40);
    dir = mkdtempSync(join(tmpdir(), 'finercam-embed-'));
    const pkg = join(dir, 'node_modules/finercam');
    mkdirSync(join(pkg, 'cli/demo/weights'), { recursive: true });
    copyFileSync(join(ROOT, 'cli/demo/weights/demo-resnet.safetensors'), join(pkg, 'cli/demo/weights/demo-resnet.safetensors'));
    copyFileSync(EXAMPLE, join(dir, 'index.html'));
    const { build } = await import('esbuild');
    // build.mjs's settings for dist/index.js
    await build({ entryPoints: [join(ROOT, 'index.ts')], outfile: join(pkg, 'dist/index.js'), bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['node:*', 'webgpu'], logLevel: 'silent' });
    const { serveWeb } = (await import(join(ROOT, 'web/serve.mjs'))) as { serveWeb: (d: string, port: number) => Promise<Server> };
    const server = await serveWeb(dir, 0);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.querySelector('#msg')?.textContent === 'ready', null, { timeout: 60_000 });
      const file = join(ROOT, 'test/fixtures/images/jpeg/BLUE_GROSBEAK.jpg');
      await page.locator('input[type=file]').setInputFiles(file);
      await page.waitForFunction(() => document.querySelector('#msg')?.textContent?.startsWith('Grad-CAM of'), null, { timeout: 60_000 });
      const got = await page.evaluate(() => {
        const c = document.querySelector('canvas')!;
        return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
      });

      const demo = await loadDemoModel();
      const image = F.decodeImage(new Uint8Array(readFileSync(file)));
      const pre = F.preprocess(image, { maxSize: 224, patchSize: 1, norm: 'imagenet' });
      const cam = new F.GradCAM({ model: demo.loaded.model, targetLayers: [demo.loaded.targetLayer] });
      const r = await cam.forward({ inputTensor: pre.tensor });
      cam.dispose();
      const want = F.showCamOnImage(F.resizeBicubicPil(image, pre.width, pre.height), Float32Array.from(await r.cam.data()));
      const top = (await F.argmax(r.outputs, 1).data())[0];
      expect(await page.textContent('#msg')).toBe(`Grad-CAM of ${demo.classNames[top]}`);
      expect([got.width, got.height]).toEqual([pre.width, pre.height]);
      // the same code on the same (CPU) backend: the overlay's uint8 truncation leaves at most 1 level of
      // difference where a map value differs in its last float32 bit
      let worst = 0;
      for (let i = 0; i < pre.width * pre.height; i++) {
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(got.rgba[4 * i + c] - want.data[3 * i + c]));
      }
      expect(worst).toBeLessThanOrEqual(1);
      // a file that is not an image: a readable message, and the next image still works
      await page.locator('input[type=file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await page.waitForFunction(() => document.querySelector('#msg')?.textContent?.startsWith('Cannot explain this file: '), null, { timeout: 30_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  }, 180_000);
});
