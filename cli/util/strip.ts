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
 *
 * With `legend`, a row below the tiles (its own height `8 · textScale`, then `margin`) shows the colour
 * scale of the overlays: `0 [JET bar] 1` and a caption, since every map is min-max scaled to 0..1
 * before JET is applied.
 */
import { applyColormapJet } from '../../image/colormap';
import { BLACK, blit, createImage, fillRect, WHITE, type Rgb, type RgbImage } from '../../image/canvas';
import { CHAR_ADVANCE, drawText, fitText, LINE_ADVANCE, measureText } from '../../image/font';

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
  /** Draw the JET colour scale (0..1) below the tiles. */
  legend?: boolean;
}

/** Width of the legend's colour bar: up to 256 px, what is left after the two end labels. */
export const LEGEND_MAX_BAR = 256;
const LEGEND_GAP = 3;
const LEGEND_CAPTION = 'CAM, each map scaled to 0..1 (JET)';

/** Draws `0 [bar] 1 caption` with its top at y; the bar is `8·scale` high. */
function drawLegend(out: RgbImage, x0: number, y: number, maxWidth: number, scale: number, color: Rgb): void {
  const h = LINE_ADVANCE * scale;
  const label = CHAR_ADVANCE * scale;
  const barW = Math.max(8, Math.min(LEGEND_MAX_BAR, maxWidth - 2 * (label + LEGEND_GAP)));
  drawText(out, x0, y, '0', { color, scale });
  const bx = x0 + label + LEGEND_GAP;
  const idx = new Uint8Array(barW);
  for (let i = 0; i < barW; i++) idx[i] = barW === 1 ? 0 : Math.round((255 * i) / (barW - 1));
  const rgb = applyColormapJet(idx);
  for (let i = 0; i < barW; i++) fillRect(out, bx + i, y, 1, h, [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]);
  const ex = bx + barW + LEGEND_GAP;
  drawText(out, ex, y, '1', { color, scale });
  const room = x0 + maxWidth - (ex + label + 2 * LEGEND_GAP);
  if (room > 0) drawText(out, ex + label + 2 * LEGEND_GAP, y, fitText(LEGEND_CAPTION, room, scale), { color, scale });
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
  const legendHeight = options.legend ? LINE_ADVANCE * scale + margin : 0;
  const height = 2 * margin + labelHeight + tileHeight + legendHeight;
  const out = createImage(width, height, background);
  if (options.legend) drawLegend(out, margin, 2 * margin + labelHeight + tileHeight, width - 2 * margin, scale, textColor);

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
