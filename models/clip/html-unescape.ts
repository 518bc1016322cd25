// Python's html.unescape, character for character: CLIP's basic_clean runs it twice on every prompt. The HTML5
// entity table and the invalid-reference rules are Python's own (html-entities.ts is generated from them), so
// e.g. '&notit;' becomes '¬it;' (the longest entity prefix without a semicolon) and '&#x80;' becomes '€'.
import { HTML5_ENTITIES, INVALID_CHARREFS, INVALID_CODEPOINTS } from './html-entities';

// Python: r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)' — the u flag makes {1,32} count code points.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
const INVALID = new Set(INVALID_CODEPOINTS);
const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(HTML5_ENTITIES, k);

function replaceCharref(_m: string, s: string): string {
  if (s[0] === '#') {
    const hex = s[1] === 'x' || s[1] === 'X';
    const digits = s.slice(hex ? 2 : 1).replace(/;$/, '');
    // Arbitrarily long digit strings are valid in Python (big ints): anything past U+10FFFF is U+FFFD either way.
    const num = digits.replace(/^0+/, '').length > 8 ? Infinity : parseInt(digits, hex ? 16 : 10);
    if (Object.prototype.hasOwnProperty.call(INVALID_CHARREFS, num)) return INVALID_CHARREFS[num];
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
    if (INVALID.has(num)) return '';
    return String.fromCodePoint(num);
  }
  if (has(s)) return HTML5_ENTITIES[s];
  // The longest matching name (in code points, as Python slices), at least 2 long.
  const cps = Array.from(s);
  for (let x = cps.length - 1; x > 1; x--) {
    const prefix = cps.slice(0, x).join('');
    if (has(prefix)) return HTML5_ENTITIES[prefix] + cps.slice(x).join('');
  }
  return '&' + s;
}

export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(CHARREF, replaceCharref);
}
