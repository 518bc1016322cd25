// Reading and writing images for the CLI (decoders are the library's pure-TypeScript ones).
import { readFile } from 'node:fs/promises';
import * as F from '../index';
import { writeFileAtomic } from './util/atomic-write';
import type { RgbImage } from '../image/canvas';

export async function readImage(path: string): Promise<RgbImage> {
  const bytes = new Uint8Array(await readFile(path));
  return F.decodeImage(bytes);
}

export async function writePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, F.encodePng(img));
}

/** A CAM (h×w floats in [0, 1]) resized to width×height with OpenCV's INTER_LINEAR, as the seed saves it. */
export function resizeCam(cam: Float32Array, h: number, w: number, width: number, height: number): Float32Array {
  if (h === height && w === width) return cam;
  return F.resizeBilinearCv(cam, w, h, 1, width, height);
}
