// A browser user hands the loaders the File from a picker or a drop: Blobs load like bytes (values written by
// torch, test/fixtures/weights/expected.json), and a path outside Node says what to pass instead.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as F from '../../index';

const DIR = join(__dirname, '../fixtures/weights');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, { tensors: Record<string, { shape: number[]; values: number[] }> }>;

describe('weights from a File/Blob', () => {
  for (const [name, load] of [['linear.safetensors', F.loadSafetensors], ['linear.pth', F.loadTorchCheckpoint]] as const) {
    it(`${name} loads from a Blob with torch's values`, async () => {
      const dict = await load(new Blob([readFileSync(join(DIR, name))]));
      for (const [key, want] of Object.entries(expected[name].tensors)) {
        const t = dict[key];
        expect(t.shape).toEqual(want.shape);
        expect(Array.from(await t.data())).toEqual(want.values.map(Math.fround));
      }
    });
  }

  it('the safetensors metadata reads from a Blob too', async () => {
    expect(await F.loadSafetensorsMetadata(new Blob([readFileSync(join(DIR, 'basic.safetensors'))]))).toEqual(
      (expected['basic.safetensors'] as unknown as { metadata: Record<string, string> }).metadata,
    );
  });

  it('anything else is named', async () => {
    await expect(F.loadSafetensors(42 as never)).rejects.toThrow(/expected a Uint8Array, a File\/Blob or a file path, got number/);
  });
});
