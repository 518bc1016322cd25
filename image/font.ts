/**
 * A built-in 5×7 bitmap font for printable ASCII (0x20–0x7e) and text drawing
 * on an `RgbImage`.
 *
 * Each glyph is written as 7 bit rows (`#` = ink), top to bottom, 5 columns
 * wide; lowercase descenders (g, j, p, q, y) are raised into the 7-row cell as
 * on character LCDs. Characters advance 6 px (1 px gap) and lines 8 px, times
 * `scale`. Characters outside printable ASCII draw as `?`.
 */
import { fillRect, type Rgb, type RgbImage } from './canvas';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character (glyph + 1 px gap), unscaled. */
export const CHAR_ADVANCE = 6;
/** Vertical advance per line (glyph + 1 px gap), unscaled. */
export const LINE_ADVANCE = 8;

// prettier-ignore
const GLYPH_ART: Record<string, string> = {
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '!': '..#..|..#..|..#..|..#..|..#..|.....|..#..',
  '"': '.#.#.|.#.#.|.#.#.|.....|.....|.....|.....',
  '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  '$': '..#..|.####|#.#..|.###.|..#.#|####.|..#..',
  '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  '&': '.##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '*': '.....|..#..|#.#.#|.###.|#.#.#|..#..|.....',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  '/': '.....|....#|...#.|..#..|.#...|#....|.....',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  ';': '.....|.##..|.##..|.....|.##..|..#..|.#...',
  '<': '...#.|..#..|.#...|#....|.#...|..#..|...#.',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '>': '.#...|..#..|...#.|....#|...#.|..#..|.#...',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  '@': '.###.|#...#|....#|.##.#|#.#.#|#.#.#|.###.',
  'A': '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  'B': '####.|#...#|#...#|####.|#...#|#...#|####.',
  'C': '.###.|#...#|#....|#....|#....|#...#|.###.',
  'D': '###..|#..#.|#...#|#...#|#...#|#..#.|###..',
  'E': '#####|#....|#....|####.|#....|#....|#####',
  'F': '#####|#....|#....|####.|#....|#....|#....',
  'G': '.###.|#...#|#....|#.###|#...#|#...#|.####',
  'H': '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  'I': '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  'J': '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  'K': '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  'L': '#....|#....|#....|#....|#....|#....|#####',
  'M': '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  'N': '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  'O': '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  'P': '####.|#...#|#...#|####.|#....|#....|#....',
  'Q': '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  'R': '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  'S': '.####|#....|#....|.###.|....#|....#|####.',
  'T': '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  'U': '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  'V': '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  'W': '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  'X': '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  'Y': '#...#|#...#|#...#|.#.#.|..#..|..#..|..#..',
  'Z': '#####|....#|...#.|..#..|.#...|#....|#####',
  '[': '.###.|.#...|.#...|.#...|.#...|.#...|.###.',
  '\\': '.....|#....|.#...|..#..|...#.|....#|.....',
  ']': '.###.|...#.|...#.|...#.|...#.|...#.|.###.',
  '^': '..#..|.#.#.|#...#|.....|.....|.....|.....',
  '_': '.....|.....|.....|.....|.....|.....|#####',
  '`': '.#...|..#..|...#.|.....|.....|.....|.....',
  'a': '.....|.....|.###.|....#|.####|#...#|.####',
  'b': '#....|#....|#.##.|##..#|#...#|#...#|####.',
  'c': '.....|.....|.###.|#....|#....|#...#|.###.',
  'd': '....#|....#|.##.#|#..##|#...#|#...#|.####',
  'e': '.....|.....|.###.|#...#|#####|#....|.###.',
  'f': '..##.|.#..#|.#...|###..|.#...|.#...|.#...',
  'g': '.....|.####|#...#|#...#|.####|....#|.###.',
  'h': '#....|#....|#.##.|##..#|#...#|#...#|#...#',
  'i': '..#..|.....|.##..|..#..|..#..|..#..|.###.',
  'j': '...#.|.....|..##.|...#.|...#.|#..#.|.##..',
  'k': '#....|#....|#..#.|#.#..|##...|#.#..|#..#.',
  'l': '.##..|..#..|..#..|..#..|..#..|..#..|.###.',
  'm': '.....|.....|##.#.|#.#.#|#.#.#|#...#|#...#',
  'n': '.....|.....|#.##.|##..#|#...#|#...#|#...#',
  'o': '.....|.....|.###.|#...#|#...#|#...#|.###.',
  'p': '.....|.....|####.|#...#|####.|#....|#....',
  'q': '.....|.....|.##.#|#..##|.####|....#|....#',
  'r': '.....|.....|#.##.|##..#|#....|#....|#....',
  's': '.....|.....|.###.|#....|.###.|....#|####.',
  't': '.#...|.#...|###..|.#...|.#...|.#..#|..##.',
  'u': '.....|.....|#...#|#...#|#...#|#..##|.##.#',
  'v': '.....|.....|#...#|#...#|#...#|.#.#.|..#..',
  'w': '.....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.',
  'x': '.....|.....|#...#|.#.#.|..#..|.#.#.|#...#',
  'y': '.....|.....|#...#|#...#|.####|....#|.###.',
  'z': '.....|.....|#####|...#.|..#..|.#...|#####',
  '{': '...#.|..#..|..#..|.#...|..#..|..#..|...#.',
  '|': '..#..|..#..|..#..|..#..|..#..|..#..|..#..',
  '}': '.#...|..#..|..#..|...#.|..#..|..#..|.#...',
  '~': '.....|.....|.#...|#.#.#|...#.|.....|.....',
};

/** Glyph bit rows for code points 0x20..0x7e: `GLYPHS[c - 0x20][row]`, bit 4 = leftmost column. */
const GLYPHS: readonly (readonly number[])[] = (() => {
  const out: number[][] = [];
  for (let c = 0x20; c <= 0x7e; c++) {
    const art = GLYPH_ART[String.fromCharCode(c)];
    if (art === undefined) throw new Error(`font: missing glyph for ${JSON.stringify(String.fromCharCode(c))}`);
    const rows = art.split('|');
    if (rows.length !== GLYPH_HEIGHT || rows.some((r) => r.length !== GLYPH_WIDTH)) {
      throw new Error(`font: glyph ${JSON.stringify(String.fromCharCode(c))} is not ${GLYPH_WIDTH}x${GLYPH_HEIGHT}`);
    }
    out.push(rows.map((r) => [...r].reduce((bits, ch) => (bits << 1) | (ch === '#' ? 1 : 0), 0)));
  }
  return out;
})();

/** The 7 bit rows of a character's glyph (bit 4 = leftmost column); `?` for unsupported characters. */
export function glyphRows(ch: string): readonly number[] {
  const c = ch.codePointAt(0) ?? 0x3f;
  return GLYPHS[(c >= 0x20 && c <= 0x7e ? c : 0x3f) - 0x20]!;
}

export interface TextSize {
  readonly width: number;
  readonly height: number;
}

function lines(text: string): string[][] {
  return text.split('\n').map((l) => Array.from(l));
}

/**
 * Size of the ink box of `text` at `scale`: a line of n characters is
 * `(6n − 1)·scale` wide (no trailing gap), k lines are `(8k − 1)·scale` high.
 * The empty string measures 0 × 7·scale.
 */
export function measureText(text: string, scale = 1): TextSize {
  const ls = lines(text);
  const maxChars = Math.max(...ls.map((l) => l.length));
  return {
    width: maxChars > 0 ? (CHAR_ADVANCE * maxChars - 1) * scale : 0,
    height: (LINE_ADVANCE * ls.length - 1) * scale,
  };
}

export interface DrawTextOptions {
  /** Ink colour (default black). */
  color?: Rgb;
  /** Integer pixel scale (default 1). */
  scale?: number;
  /** If given, the measured box is filled with this colour first. */
  background?: Rgb;
}

/**
 * Draws `text` with its top-left corner at `(x, y)`, clipped to the image;
 * `\n` starts a new line. Returns the measured size.
 */
export function drawText(img: RgbImage, x: number, y: number, text: string, options: DrawTextOptions = {}): TextSize {
  const color = options.color ?? [0, 0, 0];
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`drawText: scale must be a positive integer, got ${scale}`);
  x = Math.floor(x);
  y = Math.floor(y);
  const size = measureText(text, scale);
  if (options.background) fillRect(img, x, y, size.width, size.height, options.background);
  lines(text).forEach((line, li) => {
    const ly = y + li * LINE_ADVANCE * scale;
    line.forEach((ch, ci) => {
      const gx = x + ci * CHAR_ADVANCE * scale;
      const rows = glyphRows(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = rows[r]!;
        if (bits === 0) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (bits & (1 << (GLYPH_WIDTH - 1 - c))) fillRect(img, gx + c * scale, ly + r * scale, scale, scale, color);
        }
      }
    });
  });
  return size;
}

/**
 * The longest prefix of `text` (single line) that fits in `maxWidth` at
 * `scale`, ending in `..` when shortened; '' if not even that fits.
 */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  if (measureText(text, scale).width <= maxWidth) return text;
  const chars = Array.from(text);
  for (let n = chars.length - 1; n >= 0; n--) {
    const candidate = chars.slice(0, n).join('') + '..';
    if (measureText(candidate, scale).width <= maxWidth) return candidate;
  }
  return '';
}
