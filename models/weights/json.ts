/**
 * A strict JSON parser for safetensors headers. `JSON.parse` cannot serve: it keeps the last of duplicated keys,
 * turns `2.0` and `2` into the same number and (through TextDecoder) drops a byte order mark, while the reference
 * implementation (serde_json into typed structs) rejects a BOM, non-integer sizes and offsets, and a duplicated
 * `__metadata__`. This parser keeps what those checks need: object entries in order with duplicates, and the source
 * text of every number. The grammar is RFC 8259, as serde_json reads it: whitespace is space, tab, CR and LF;
 * strings may not hold control characters or unpaired surrogate escapes; nesting is limited to 128 levels.
 */
import { fail } from './errors';

export type JsonNode =
  | { kind: 'object'; entries: [string, JsonNode][] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/** serde_json's default recursion limit. */
const MAX_DEPTH = 128;

/** Parses `text`; errors are WeightsFormatErrors saying `<what> is not valid JSON` and naming the character offset. */
export function parseStrictJson(text: string, what: string): JsonNode {
  let pos = 0;
  const n = text.length;
  const err = (msg: string): never => fail(`${what} is not valid JSON (at character ${pos}: ${msg})`);
  const ws = () => {
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else break;
    }
  };
  const expectChar = (ch: string) => {
    if (text[pos] !== ch) err(`expected '${ch}', found ${pos < n ? JSON.stringify(text[pos]) : 'the end'}`);
    pos++;
  };
  const hex4 = (): number => {
    const h = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) err('invalid \\u escape');
    pos += 4;
    return parseInt(h, 16);
  };
  const parseString = (): string => {
    expectChar('"');
    let out = '';
    let run = pos;
    for (;;) {
      if (pos >= n) err('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(run, pos);
        pos++;
        return out;
      }
      if (c < 0x20) err('control character in a string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(run, pos);
      pos++;
      const e = text[pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = hex4();
          if (u >= 0xdc00 && u <= 0xdfff) err('unpaired surrogate in a \\u escape');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (text[pos] !== '\\' || text[pos + 1] !== 'u') err('unpaired surrogate in a \\u escape');
            pos += 2;
            const lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) err('unpaired surrogate in a \\u escape');
            out += String.fromCharCode(u, lo);
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          err(`invalid escape '\\${e ?? ''}'`);
      }
      run = pos;
    }
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const parseNumber = (): JsonNode => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) err('invalid number');
    const raw = m![0];
    pos += raw.length;
    return { kind: 'number', raw, value: Number(raw) };
  };
  const parseValue = (depth: number): JsonNode => {
    ws();
    if (pos >= n) err('expected a value, found the end');
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) err(`nested deeper than ${MAX_DEPTH} levels`);
      pos++;
      ws();
      const close = c === '{' ? '}' : ']';
      const entries: [string, JsonNode][] = [];
      const items: JsonNode[] = [];
      if (text[pos] === close) pos++;
      else {
        for (;;) {
          if (c === '{') {
            ws();
            const key = parseString();
            ws();
            expectChar(':');
            entries.push([key, parseValue(depth + 1)]);
          } else items.push(parseValue(depth + 1));
          ws();
          if (text[pos] === ',') {
            pos++;
            continue;
          }
          expectChar(close);
          break;
        }
      }
      return c === '{' ? { kind: 'object', entries } : { kind: 'array', items };
    }
    if (c === '"') return { kind: 'string', value: parseString() };
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    for (const [word, node] of [['true', { kind: 'boolean', value: true }], ['false', { kind: 'boolean', value: false }], ['null', { kind: 'null' }]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return node;
      }
    }
    return err(`unexpected ${JSON.stringify(c)}${c === '\ufeff' ? ' (a byte order mark)' : ''}`);
  };
  const value = parseValue(0);
  ws();
  if (pos < n) err(`unexpected ${JSON.stringify(text[pos])} after the value`);
  return value;
}

/** A short rendering of a node for error messages (numbers as written in the file). */
export function describeJson(node: JsonNode): string {
  const s = render(node, 0);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function render(node: JsonNode, depth: number): string {
  if (depth > 3) return '…';
  switch (node.kind) {
    case 'object': return `{${node.entries.slice(0, 8).map(([k, v]) => `${JSON.stringify(k)}:${render(v, depth + 1)}`).join(',')}${node.entries.length > 8 ? ',…' : ''}}`;
    case 'array': return `[${node.items.slice(0, 8).map((v) => render(v, depth + 1)).join(',')}${node.items.length > 8 ? ',…' : ''}]`;
    case 'string': return JSON.stringify(node.value);
    case 'number': return node.raw;
    case 'boolean': return String(node.value);
    case 'null': return 'null';
  }
}
