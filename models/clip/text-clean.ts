// CLIP's text normalisation (simple_tokenizer.py's basic_clean, whitespace_clean and lower()) with Python's
// character classes, which differ from JavaScript's: str.strip() also strips U+001C–U+001F and U+0085 and keeps
// U+FEFF; the `regex` module's \s matches U+0085 but neither U+FEFF nor U+001C–U+001F.
// ftfy.fix_text (mojibake repair and NFC) is not reproduced: text is used as given.
import { htmlUnescape } from './html-unescape';

/** Python `regex`'s \s (Unicode), as a character-class body. */
export const PY_REGEX_SPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Python's str.isspace(), as a character-class body. */
const PY_ISSPACE = PY_REGEX_SPACE + '\\x1c-\\x1f';

const STRIP = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, 'gu');
const SPACES = new RegExp(`[${PY_REGEX_SPACE}]+`, 'gu');

/** Python's str.strip() without arguments. */
export function pyStrip(s: string): string {
  return s.replace(STRIP, '');
}

/** basic_clean: html.unescape twice, then strip (ftfy stood in by the identity). */
export function basicClean(text: string): string {
  return pyStrip(htmlUnescape(htmlUnescape(text)));
}

/** whitespace_clean: runs of \s become one space, then strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(SPACES, ' '));
}

/** What SimpleTokenizer.encode splits into words: whitespace_clean(basic_clean(text)).lower(). */
export function cleanText(text: string): string {
  // Python's lower() and JavaScript's toLowerCase() both apply Unicode's full default lowercase mapping
  // (final sigma included), so they agree wherever both Unicode versions know the character.
  return whitespaceClean(basicClean(text)).toLowerCase();
}
