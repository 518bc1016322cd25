// The look-alike demo (issue 14): the broad pre-training generator, deterministic training of the
// backbone and of the probe (short runs), the committed files, and `finercam demo --lookalike` printing
// the accuracy and look-alike rate that its results.json holds.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as F from '../../index';
import { main } from '../../cli/main';
import { BIRD_CLASSES, BIRD_PARTS, renderBird, renderBirdTraits } from '../../cli/demo/birds';
import { BROAD_CARDINALITIES, broadSpecies, isDemoSpecies, renderBroad, tokenLabels } from '../../cli/demo/broad';
import { DEFAULT_BACKBONE_OPTIONS, LOOKALIKE_ARCH, trainBackbone } from '../../cli/demo/backbone';
import { LOOKALIKE_CLASSES } from '../../cli/demo/lookalikeClasses';
import { lookalikeSampleSeed, makeLookalikeDataset, renderLookalike } from '../../cli/demo/lookalikeData';
import { CANDIDATE_LAYERS, LOOKALIKE_FILES, LOOKALIKE_SEEDS, classFolder, loadLookalike, lookalikePaths, trainLookalike } from '../../cli/demo/lookalike';
import { chooseLayerOnValidation, type LookalikeEvalResult } from '../../cli/demo/evaluate-lookalike';
import { demoWeightsDir } from '../../cli/demo/model';
import { capture, removeTempDirs, tempDir } from '../fixtures/cli-e2e/build';

afterAll(removeTempDirs);

describe('broad pre-training task', () => {
  it('is deterministic in the seed and never draws a demo class', () => {
    const a = renderBroad(3, 17, 72);
    const b = renderBroad(3, 17, 72);
    expect(a.species).toEqual(b.species);
    expect(Buffer.from(a.render.image.data).equals(Buffer.from(b.render.image.data))).toBe(true);
    expect(Buffer.from(renderBroad(4, 17, 72).render.image.data).equals(Buffer.from(a.render.image.data))).toBe(false);
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const sp = broadSpecies(1, i);
      expect(isDemoSpecies(sp)).toBe(false);
      sp.forEach((v, k) => expect(v >= 0 && v < BROAD_CARDINALITIES[k]).toBe(true));
      seen.add(sp.join(','));
    }
    expect(seen.size).toBeGreaterThan(2000); // many species (10,368 in all)
    // both demos' classes are species of the broad task and are never drawn
    for (const c of LOOKALIKE_CLASSES) expect(isDemoSpecies(c.species)).toBe(true);
    for (const c of BIRD_CLASSES) expect(isDemoSpecies([...['beak', 'eyeRing', 'crown', 'throat', 'wingBar', 'tailTip'].map((p) => (c.traits[p as 'beak'] ? 1 : 0)), 0])).toBe(true);
  });

  it('leaves the demo renders as they were, and all part masks follow the rule of partMask', () => {
    for (const c of BIRD_CLASSES) {
      const r = renderBird(c.id, 1234 + c.id, { size: 72 });
      const all = renderBirdTraits(c.traits, 1234 + c.id, { size: 72, maskPart: c.part, allMasks: true });
      expect(Buffer.from(all.image.data).equals(Buffer.from(r.image.data))).toBe(true);
      expect(Buffer.from(all.partMask).equals(Buffer.from(r.partMask))).toBe(true);
      for (const p of BIRD_PARTS) {
        const one = renderBirdTraits(c.traits, 1234 + c.id, { size: 72, maskPart: p });
        expect(Buffer.from(all.partMasks![p]).equals(Buffer.from(one.partMask)), `${c.name} ${p}`).toBe(true);
      }
    }
  });

  it('labels every token with the part value it shows', () => {
    const present = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 20; i++) {
      const { species, render } = renderBroad(2, i, 72);
      const labels = tokenLabels(render, species, 72, 12);
      expect(labels).toHaveLength(6);
      labels.forEach((l, a) => {
        expect(l).toHaveLength(144);
        // where a part is (≥ 30% of a patch), the label is this species' value of it
        const here = Array.from(l).filter((v) => v !== BROAD_CARDINALITIES[a]);
        if (here.length) present[a]++;
        for (const v of here) expect(v).toBe(species[a]);
      });
    }
    // the parts are small but each is found in most images (measured over 200: 91%-100%)
    for (const n of present) expect(n).toBeGreaterThanOrEqual(15);
  });
});

describe('look-alike classes', () => {
  it('come in pairs one part apart, and classes of different pairs are at least 5 of 7 attributes apart', () => {
    expect(LOOKALIKE_CLASSES).toHaveLength(12);
    const dist = (a: readonly number[], b: readonly number[]) => a.filter((v, i) => v !== b[i]).length;
    for (const a of LOOKALIKE_CLASSES) {
      expect(a.species).toHaveLength(7);
      a.species.forEach((v, k) => expect(v >= 0 && v < BROAD_CARDINALITIES[k]).toBe(true));
      const nb = LOOKALIKE_CLASSES[a.neighbour];
      expect(nb.neighbour).toBe(a.id);
      expect(nb.part).toBe(a.part);
      expect(dist(a.species, nb.species)).toBe(1);
      expect(a.species[BIRD_PARTS.indexOf(a.part)]).not.toBe(nb.species[BIRD_PARTS.indexOf(a.part)]);
      for (const b of LOOKALIKE_CLASSES) if (b.id !== a.id && b.id !== a.neighbour) expect(dist(a.species, b.species), `${a.name} vs ${b.name}`).toBeGreaterThanOrEqual(5);
    }
    // each of the six parts tells exactly one pair apart
    expect(new Set(LOOKALIKE_CLASSES.map((c) => c.part)).size).toBe(6);
  });

  it('render a class and its look-alike with the same seed identically outside the distinguishing part', () => {
    for (const c of LOOKALIKE_CLASSES) {
      const seed = lookalikeSampleSeed(5, c.id, 3);
      const a = renderLookalike(c.id, seed, { size: 96 });
      const b = renderLookalike(c.neighbour, seed, { size: 96 });
      expect(Buffer.from(a.partMask).equals(Buffer.from(b.partMask))).toBe(true);
      let inside = 0;
      let changedInside = 0;
      for (let i = 0; i < 96 * 96; i++) {
        const same = [0, 1, 2].every((ch) => a.image.data[3 * i + ch] === b.image.data[3 * i + ch]);
        if (a.partMask[i]) {
          inside++;
          if (!same) changedInside++;
        } else expect(same, `${c.name}: pixel ${i} outside the ${c.part} mask`).toBe(true);
      }
      // the part is small (< 3% of the image) and its two values look different on most of it
      expect(inside).toBeGreaterThan(10);
      expect(inside).toBeLessThan(0.03 * 96 * 96);
      expect(changedInside).toBeGreaterThan(0.5 * inside);
    }
    expect(() => renderLookalike(12, 1)).toThrow(/classId must be an integer in \[0, 12\)/);
  });

  it('make a balanced, deterministic data set', () => {
    const a = makeLookalikeDataset({ perClass: 2, seed: 9, size: 48 });
    const b = makeLookalikeDataset({ perClass: 2, seed: 9, size: 48 });
    expect(a.labels).toEqual([...LOOKALIKE_CLASSES.map((c) => c.id), ...LOOKALIKE_CLASSES.map((c) => c.id)]);
    expect(a.seeds).toEqual(b.seeds);
    a.images.forEach((im, i) => expect(Buffer.from(im.data).equals(Buffer.from(b.images[i].data))).toBe(true));
    expect(() => makeLookalikeDataset({ perClass: -1, seed: 9, size: 48 })).toThrow(/perClass must be a non-negative integer/);
  });
});

describe('look-alike training (short runs)', () => {
  it('the backbone: the same weights from the same seed, others from another', async () => {
    const before = F.getDefaultBackend().name;
    const run = (seed: number) => trainBackbone({ steps: 2, batchSize: 4, seed, log: null, progress: false, valImages: 8 });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    const sa = a.vit.stateDict();
    const sb = b.vit.stateDict();
    for (const k of Object.keys(sa)) expect(Array.from(await sa[k].data())).toEqual(Array.from(await sb[k].data()));
    expect(Array.from(await c.vit.stateDict()['blocks.0.attn.qkv.weight'].data())).not.toEqual(Array.from(await sa['blocks.0.attn.qkv.weight'].data()));
    expect(a.vit.patchSize).toBe(LOOKALIKE_ARCH.patchSize);
    expect(a.attributeAccuracy).toHaveLength(7);
    // trained on the wasm backend (bit-identical on any number of threads), the default device restored after
    expect(a.settings.backend).toBe('wasm');
    expect(F.getDefaultBackend().name).toBe(before);
  });

  it('rejects a "part not here" weight outside (0, 1] before training', async () => {
    for (const absentWeight of [0, -0.1, 1.5, Number.NaN]) {
      await expect(trainBackbone({ steps: 1, batchSize: 1, absentWeight, log: null, progress: false, valImages: 1 })).rejects.toThrow(/absentWeight must be in \(0, 1\]/);
    }
  });

  it('backbone + train-probe + layer choice: byte-identical files from the same seed', async () => {
    const choose = (m: Parameters<typeof chooseLayerOnValidation>[0], pc: number) => chooseLayerOnValidation(m, pc, CANDIDATE_LAYERS.slice(3));
    const opts = { steps: 2, trainPerClass: 2, valPerClass: 1, choosePerClass: 1, backboneValImages: 8, progress: false, log: () => {} };
    const d1 = tempDir('lookalike-a');
    const d2 = tempDir('lookalike-b');
    const before = F.getDefaultBackend().name;
    await capture(async () => (await trainLookalike({ ...opts, dir: d1 }, choose), 0));
    await capture(async () => (await trainLookalike({ ...opts, dir: d2 }, choose), 0));
    // trained on wasm (train-probe --backend wasm included), the caller's default device given back
    expect(F.getDefaultBackend().name).toBe(before);
    for (const f of [LOOKALIKE_FILES.backbone, LOOKALIKE_FILES.options, LOOKALIKE_FILES.probe, LOOKALIKE_FILES.classes]) {
      expect(readFileSync(join(d1, f)).equals(readFileSync(join(d2, f))), f).toBe(true);
    }
    const t1 = await F.loadSafetensors(new Uint8Array(readFileSync(join(d1, LOOKALIKE_FILES.backbone))));
    expect(Object.keys(t1).length).toBeGreaterThan(10);
    const m1 = JSON.parse(readFileSync(join(d1, LOOKALIKE_FILES.meta), 'utf8'));
    const m2 = JSON.parse(readFileSync(join(d2, LOOKALIKE_FILES.meta), 'utf8'));
    expect(m1.targetLayer).toBe(m2.targetLayer);
    expect(m1.layerChoice).toEqual(m2.layerChoice);
    // train-probe's class order is the demo's id order
    expect(JSON.parse(readFileSync(join(d1, LOOKALIKE_FILES.classes), 'utf8'))).toEqual(LOOKALIKE_CLASSES.map((c) => classFolder(c.id)));
    expect(m1.seeds.val).not.toBe(m1.seeds.test);
  }, 120_000);
});

describe('committed look-alike demo', () => {
  it('files are small, load as explain would, and were chosen on validation images', async () => {
    const p = lookalikePaths();
    expect(p.dir).toBe(demoWeightsDir());
    let total = 0;
    for (const f of readdirAll(p.dir)) total += statSync(f).size;
    expect(total).toBeLessThan(5 * 1024 * 1024);
    const m = await loadLookalike();
    expect(m.loaded.kind).toBe('vit');
    expect(m.probe.classifier.weight.shape).toEqual([12, LOOKALIKE_ARCH.embedDim]);
    expect(m.loaded.targetLayer).toBe(m.meta.targetLayer);
    expect(CANDIDATE_LAYERS as readonly string[]).toContain(m.meta.targetLayer);
    expect(m.meta.layerChoice.map((c) => c.layer)).toEqual([...CANDIDATE_LAYERS]);
    expect(m.meta.seeds.val).toBe(LOOKALIKE_SEEDS.val);
    expect(m.meta.seeds.test).toBe(LOOKALIKE_SEEDS.test);
    expect(m.meta.trainSeconds.total).toBeGreaterThan(0);
    // the probe's own record (train-probe's metadata) and the demo's agree; measured 94.3% on 600 val images
    const probeMeta = await F.loadSafetensorsMetadata(new Uint8Array(readFileSync(p.probe)));
    expect(Number(probeMeta.val_accuracy)).toBe(m.meta.valAccuracy);
    expect(probeMeta.backbone).toBe(LOOKALIKE_FILES.options);
    expect(m.meta.valAccuracy).toBeGreaterThan(0.8);
    // trained as the defaults say, on the wasm backend (what `--train` reproduces byte for byte)
    expect(m.meta.arch).toEqual(LOOKALIKE_ARCH);
    expect(m.meta.backbone.steps).toBe(DEFAULT_BACKBONE_OPTIONS.steps);
    expect(m.meta.backbone.absentWeight).toBe(DEFAULT_BACKBONE_OPTIONS.absentWeight);
    expect(m.meta.backbone.backend).toBe('wasm');
    // the class table makes the pair partner the logit-nearest class (validation: 95.0%; the issue asks ≥ 90%)
    expect(m.meta.valLookalikeRate).toBeGreaterThanOrEqual(0.9);
    // the chosen layer is the validation winner of the Baseline pointing game
    const best = Math.max(...m.meta.layerChoice.map((c) => c.pointing));
    expect(m.meta.layerChoice.find((c) => c.layer === m.meta.targetLayer)!.pointing).toBe(best);
  });

  it('`demo --lookalike` prints the accuracy and look-alike rate that results.json holds', async () => {
    const out = tempDir('demo-lookalike');
    const n = 24;
    const r = await capture(() => main(['demo', '--lookalike', '--eval-size', String(n), '--count', '1', '--out', out, '--backend', 'cpu']));
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as LookalikeEvalResult;
    expect(res.n).toBe(n);
    expect(typeof res.accuracy).toBe('number');
    expect(typeof res.lookalikeRate).toBe('number');
    expect(r.out).toContain(`accuracy ${(100 * res.accuracy).toFixed(1)}% on ${n} generated test images; look-alike rate ${(100 * res.lookalikeRate).toFixed(1)}%`);
    expect(res.nLookalike).toBe(Math.round(res.lookalikeRate * n));
    // measured on 480 test images: accuracy 94.4%, look-alike rate 92.7%; 24 images leave room for sampling noise
    expect(res.accuracy).toBeGreaterThan(0.7);
    expect(res.lookalikeRate).toBeGreaterThan(0.7);
    // the Baseline's map is informative: more mass on the part than a uniform map (measured 4.1% vs 0.7%)
    expect(res.rows[0].all.partShare.mean).toBeGreaterThan(2 * res.partArea);
    expect(res.rows.map((x) => x.mode)).toEqual(['baseline', 'finer-default', 'finer-compare', 'oracle']);
    for (const row of res.rows) {
      expect(row.all.rd.mean).toBeCloseTo(row.all.mainDrop.mean - row.all.refDrop.mean, 10);
      for (const k of ['partShare', 'pointing'] as const) expect(row.all[k].mean >= 0 && row.all[k].mean <= 1).toBe(true);
    }
    expect(res.rows[0].all.rd.diff).toEqual({ mean: 0, se: 0 });
    expect(res.maskedPixels).toBe(Math.round(0.05 * LOOKALIKE_ARCH.imgSize ** 2));
    for (const label of ['Baseline', 'Finer-Default', 'Finer-Compare', 'Oracle', 'Reading.', 'vs Baseline']) expect(r.out).toContain(label);
    expect(res.strips).toHaveLength(1);
    expect(existsSync(res.strips[0])).toBe(true);
    // the pair rows split the same images: counts add up, and their weighted means are the overall ones
    expect(res.pairs.map((p) => p.part)).toEqual([...BIRD_PARTS]);
    expect(res.pairs.reduce((a, p) => a + p.n, 0)).toBe(n);
    const weighted = (f: (p: LookalikeEvalResult['pairs'][number]) => number) => res.pairs.reduce((a, p) => a + p.n * f(p), 0) / n;
    expect(weighted((p) => p.accuracy)).toBeCloseTo(res.accuracy, 12);
    expect(weighted((p) => p.lookalikeRate)).toBeCloseTo(res.lookalikeRate, 12);
    res.rows.forEach((row, mi) => expect(weighted((p) => p.partShare[mi])).toBeCloseTo(row.all.partShare.mean, 12));
    expect(r.out).toContain('by pair (one part tells the two birds apart');
    expect(r.out).toContain('Grey-billed Finch / Orange-billed Finch');
  });

  it('evaluates the validation split at another layer when asked, and says so', async () => {
    const out = tempDir('demo-lookalike-val');
    const r = await capture(() => main(['demo', '--lookalike', '--split', 'val', '--target-layer', 'backbone.blocks.2.norm2', '--eval-size', '12', '--count', '0', '--out', out, '--backend', 'wasm']));
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as LookalikeEvalResult & { testSeed: number };
    expect(res.split).toBe('val');
    expect(res.testSeed).toBe(LOOKALIKE_SEEDS.val);
    expect(res.targetLayer).toBe('backbone.blocks.2.norm2');
    const chosen = (await loadLookalike()).meta.targetLayer;
    expect(res.chosenLayer).toBe(chosen);
    expect(r.out).toContain('on 12 generated validation images');
    expect(r.out).toContain(`target layer backbone.blocks.2.norm2 (a 12×12 token grid, given; the one chosen on validation images is ${chosen})`);
  });

  it('rejects options that do not apply', async () => {
    expect((await capture(() => main(['demo', '--lookalike', '--weights', 'x.safetensors']))).code).toBe(2);
    expect((await capture(() => main(['demo', '--lookalike', '--train', '--epochs', '3']))).code).toBe(2);
    expect((await capture(() => main(['demo', '--lookalike', '--train', '--target-layer', 'backbone.norm']))).code).toBe(2);
    for (const o of ['--split', '--target-layer']) {
      const r = await capture(() => main(['demo', o, o === '--split' ? 'val' : 'backbone.norm']));
      expect(r.code).toBe(2);
      expect(r.err).toContain(`demo: ${o} only applies with --lookalike`);
    }
    expect((await capture(() => main(['demo', '--lookalike', '--split', 'train']))).code).toBe(2);
    const bad = await capture(() => main(['demo', '--lookalike', '--target-layer', 'backbone.blocks.9.norm1', '--eval-size', '1', '--out', tempDir('demo-lookalike-bad')]));
    expect(bad.code).toBe(2);
    // checked when the model loads (cli/model-spec.ts), before any image is drawn
    expect(bad.err).toMatch(/demo: --target-layer .*'backbone\.blocks\.9\.norm1' not found: 'backbone\.blocks' \(ModuleList\) has no child '9' \(children: 0, 1, 2\)/);
  });
});

function readdirAll(dir: string): string[] {
  return readdirSync(dir).map((f) => join(dir, f));
}
