// The demo's progress counts the images it evaluates, not its batches of 16 (issue 13, item 21).
import { afterAll, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

it('demo --eval-size 20 reports 20/20 test images (two batches)', async () => {
  const r = await capture(() => main(['demo', '--eval-size', '20', '--count', '0', '--out', tempDir('demo-progress'), '--backend', 'cpu']));
  expect(r.code, r.err).toBe(0);
  const counts = [...r.err.matchAll(/demo: explaining test images: (\d+)\/(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  expect(counts[0]).toEqual([16, 20]); // the first batch
  expect(counts.at(-1)).toEqual([20, 20]);
  expect(r.out).toContain('on 20 generated test images');
});
