// `finercam demo --clip` end to end on the committed tiny CLIP (few images, to stay fast): the printed table holds
// exactly the numbers of results.json, the strips are PNGs, the committed files load as any user's CLIP would
// (clipFromStateDict infers the size from the weights), and bad input is a usage error naming the option.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';
import { candidateLayers, clipDemoPaths, loadClipDemo, type ClipDemoMeta } from '../../cli/demo/clip/model';
import { diffText } from '../../cli/demo/clip/report';
import type { ClipEvalResult } from '../../cli/demo/clip/evaluate';

afterAll(removeTempDirs);

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

describe('finercam demo --clip', () => {
  test('the committed files: < 5 MB, OpenAI names, the size inferred from the weights, a validation-chosen layer', async () => {
    const p = clipDemoPaths();
    const bytes = [p.weights, p.meta, join(p.tokenizer, 'vocab.json'), join(p.tokenizer, 'merges.txt')].reduce((s, f) => s + statSync(f).size, 0);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    const m = await loadClipDemo();
    const meta = JSON.parse(readFileSync(p.meta, 'utf8')) as ClipDemoMeta;
    expect(m.clip.config).toEqual(expect.objectContaining({ ...meta.config, visionPatchSize: meta.config.visionPatchSize ?? null }));
    expect(m.tokenizer.vocabSize).toBe(meta.config.vocabSize);
    expect(candidateLayers(m.clip)).toContain(meta.targetLayer);
    expect(Object.keys(meta.layerChoice).sort()).toEqual(candidateLayers(m.clip).sort());
    expect(Math.max(...Object.values(meta.layerChoice))).toBe(meta.layerChoice[meta.targetLayer]);
    const sd = await F.loadSafetensors(new Uint8Array(readFileSync(p.weights)));
    expect(Object.keys(sd)).toContain('visual.attnpool.positional_embedding');
    expect(Object.keys(sd)).toContain('token_embedding.weight');
  });

  test('runs on the committed weights; the printed numbers are those of results.json', async () => {
    const out = tempDir('demo-clip');
    const r = await capture(() => main(['demo', '--clip', '--eval-size', '6', '--count', '2', '--out', out, '--backend', 'wasm']));
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ClipEvalResult;
    expect(res.images).toBe(6);
    expect(res.explanations).toBe(36);
    expect(r.out).toContain(`attribute prompts: ${pct(res.zeroShot.mean)} (chance 50%)`);
    for (const [part, acc] of Object.entries(res.zeroShot.byPart)) expect(r.out).toContain(`${part} ${pct(acc)}`);
    expect(r.out).toContain(`same part's other state in ${pct(res.referenceIsOtherState)} of cases`);
    expect(r.out).toContain(`target layer ${res.targetLayer}`);
    const lines = r.out.split('\n');
    expect(res.rows.map((x) => x.mode)).toEqual(['baseline', 'finer-default', 'finer-compare', 'finer-pair']);
    for (const row of res.rows) {
      const line = lines.slice(lines.findIndex((l) => l.startsWith('mode            part share'))).find((l) => l.startsWith(row.label.padEnd(14)));
      expect(line, row.label).toBeDefined();
      const cells = [pct(row.partShare), pct(row.peakInPart), row.rd.toFixed(3)];
      if (row.mode !== 'baseline') cells.push(diffText(row.shareVsBaseline, 100, 1).text, diffText(row.peakVsBaseline, 100, 1).text, diffText(row.rdVsBaseline, 1, 3).text);
      for (const c of cells) expect(line, `${row.label}: ${c}`).toContain(c);
      expect(line!.trim().endsWith(String(row.emptyMaps))).toBe(true);
      const byPart = lines.slice(lines.findIndex((l) => l.startsWith('part share by part'))).find((l) => l.startsWith(row.label.padEnd(21)));
      expect(byPart!.trim().split(/\s+/).slice(-6)).toEqual(Object.values(row.partShareByPart).map(pct));
    }
    expect(r.out).toContain(`uniform map     ${pct(res.partArea).padStart(10)}`);
    expect(r.out).toMatch(/^Reading \(± 2 standard errors/m);
    expect(res.strips).toHaveLength(2);
    const pngs = readdirSync(out).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(2);
    const strip = F.decodeImage(new Uint8Array(readFileSync(join(out, pngs[0]))));
    expect(strip.width).toBeGreaterThan(5 * 256);
  }, 120_000);

  test('bad input: usage errors naming the option', async () => {
    const out = tempDir('demo-clip-bad');
    const cases: [string[], RegExp][] = [
      [['--eval-size', '0'], /--eval-size must be an integer in 1\.\.5000, got 0/],
      [['--count', '-1'], /--count must be an integer in 0\.\.1000/],
      [['--steps', '5'], /--steps only applies with --train/],
      [['--weights-dir', out], /the tiny CLIP's weights '.*clip-tiny\.safetensors' are missing; run 'finercam demo --clip --train'/],
      [['--backend', 'tpu'], /--backend/],
    ];
    for (const [args, re] of cases) {
      const r = await capture(() => main(['demo', '--clip', '--out', join(out, 'o'), ...args]));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
    }
  });
});
