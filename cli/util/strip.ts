/**
 * Side-by-side panel strips with a label band above each panel, in the
 * spirit of the reference `visualize.py` (white margins, black centred labels).
 *
 * Layout (all in pixels):
 *
 *     margin | tile 0 | margin | tile 1 | … | tile n-1 | margin
 *
 * vertically: `margin`, label band (`labelHeight`), tile (`tileHeight`), `margin`.
 * Each tile is scaled (nearest neighbour) to height `tileHeight`, keeping its
 * aspect ratio: width `max(1, round(w · tileHeight / h))`. Each label is
 * centred (line by line) in the band above its tile and shortened with `..`
 * to fit the tile.
 */
import { BLACK, blit, createImage, WHITE, type Rgb, type RgbImage } from './canvas';
import { drawText, fitText, LINE_ADVANCE, measureText } from './font';

export interface StripOptions {
  /** Height every tile is scaled to (default: the tallest tile). */
  tileHeight?: number;
  /** Outer margin and gap between tiles (default 10, as visualize.py). */
  margin?: number;
  /** Height of the label band (default: text height of the tallest label + 8). */
  labelHeight?: number;
  /** Integer font scale (default 1). */
  textScale?: number;
  background?: Rgb;
  textColor?: Rgb;
}

/** Width a tile gets when scaled to `tileHeight`. */
export function scaledTileWidth(tile: RgbImage, tileHeight: number): number {
  if (tile.height === 0) return 0;
  return Math.max(1, Math.round((tile.width * tileHeight) / tile.height));
}

export function composeStrip(tiles: readonly RgbImage[], labels: readonly string[], options: StripOptions = {}): RgbImage {
  if (labels.length !== tiles.length) {
    throw new RangeError(`composeStrip: ${tiles.length} tiles but ${labels.length} labels`);
  }
  const margin = options.margin ?? 10;
  const scale = options.textScale ?? 1;
  const tileHeight = options.tileHeight ?? Math.max(0, ...tiles.map((t) => t.height));
  if (!Number.isInteger(tileHeight) || tileHeight < 1) throw new RangeError(`composeStrip: bad tileHeight ${tileHeight}`);
  const maxLines = Math.max(1, ...labels.map((l) => l.split('\n').length));
  const labelHeight = options.labelHeight ?? (LINE_ADVANCE * maxLines - 1) * scale + 8;
  const background = options.background ?? WHITE;
  const textColor = options.textColor ?? BLACK;

  const widths = tiles.map((t) => scaledTileWidth(t, tileHeight));
  const width = margin + widths.reduce((s, w) => s + w + margin, 0);
  const height = 2 * margin + labelHeight + tileHeight;
  const out = createImage(width, height, background);

  let x = margin;
  tiles.forEach((tile, i) => {
    const w = widths[i]!;
    blit(out, tile, x, margin + labelHeight, w, tileHeight);
    const lines = labels[i]!.split('\n').map((line) => fitText(line, w, scale));
    const blockHeight = measureText(lines.join('\n'), scale).height;
    const ty = margin + Math.floor((labelHeight - blockHeight) / 2);
    lines.forEach((line, li) => {
      const tx = x + Math.floor((w - measureText(line, scale).width) / 2);
      drawText(out, tx, ty + li * LINE_ADVANCE * scale, line, { color: textColor, scale });
    });
    x += w + margin;
  });
  return out;
}
