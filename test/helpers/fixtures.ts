// Loading JSON fixtures written by test/reference/*.py. Non-finite numbers are stored as the strings
// "nan", "inf" and "-inf" (JSON has no literal for them); decodeNumbers turns them back into numbers.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type EncodedNumber = number | 'nan' | 'inf' | '-inf';

/** Parses test/fixtures/<relPath>. */
export function loadFixture<T>(relPath: string): T {
  const path = fileURLToPath(new URL(`../fixtures/${relPath}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function decodeNumber(v: EncodedNumber): number {
  if (typeof v === 'number') return v;
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  throw new Error(`fixture: unexpected encoded number ${JSON.stringify(v)}`);
}

export function decodeNumbers(vs: readonly EncodedNumber[]): number[] {
  return vs.map(decodeNumber);
}
