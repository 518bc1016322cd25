// examples/quickstart.mjs runs (issue 13, item 21): it explains examples/bird.png with the bundled demo
// weights through the library API alone. The example imports the built bundle (../dist/index.js); here
// that import is pointed at the sources, so the test checks the example against the code as it is now.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import * as F from '../../index';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

vi.mock('../../dist/index.js', () => import('../../index'));
afterAll(removeTempDirs);

it('prints the three modes for the Orange-billed Finch and writes the overlay', async () => {
  const dist = await import(new URL('../../dist/index.js', import.meta.url).href);
  expect(dist.preprocess).toBe(F.preprocess); // the mock is in place
  const out = join(tempDir('quickstart'), 'overlay.png');
  const argv = process.argv;
  process.argv = [argv[0], 'examples/quickstart.mjs', new URL('../../examples/bird.png', import.meta.url).pathname, out];
  let r;
  try {
    r = await capture(async () => {
      await import(new URL('../../examples/quickstart.mjs', import.meta.url).href);
      return 0;
    });
  } finally {
    process.argv = argv;
  }
  const lines = r.out.trim().split('\n');
  expect(lines[0]).toMatch(/^Baseline {7}Orange-billed Finch \(p = 0\.\d{3}\)$/);
  expect(lines[1]).toMatch(/^Finer-Default {2}Orange-billed Finch \(p = 0\.\d{3}\) vs Grey-billed Finch, [^,]+, [^,]+$/);
  expect(lines[2]).toMatch(/^Finer-Compare {2}Orange-billed Finch \(p = 0\.\d{3}\) vs Grey-billed Finch$/);
  expect(lines[3]).toBe(`wrote ${out}`);
  expect(r.out).not.toContain('until the demo lands');
  expect(existsSync(out)).toBe(true);
  const png = F.decodeImage(new Uint8Array(readFileSync(out)));
  expect([png.width, png.height]).toEqual([96, 96]);
  const src = readFileSync(new URL('../../examples/quickstart.mjs', import.meta.url), 'utf8');
  expect(src).not.toContain('until the demo lands');
});
