import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../image/jpeg';
import { compareBytes, manifest, readBytes } from './fixtures';

describe('decodeJpeg matches PIL Image.open(f).convert("RGB") exactly', () => {
  const cases = manifest.decode.filter((c) => c.file.endsWith('.jpg'));
  it.each(cases.map((c) => [c.file, c] as const))('%s', (_name, c) => {
    const img = decodeJpeg(readBytes(c.file));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(compareBytes(img.data, c), c.note).toBe('');
  });
});
