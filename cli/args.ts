// A small command-line parser: `--name value`, `--name=value`, boolean `--flag`, positionals. Each
// command declares its options; anything unknown or malformed is a UsageError (exit code 2).

export class UsageError extends Error {}

export type OptionKind = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  kind: OptionKind;
  help: string;
  default?: string | number | boolean | string[];
  /** Accepted values for a string option. */
  choices?: readonly string[];
}

export type Parsed = { positionals: string[]; options: Record<string, string | number | boolean | string[] | undefined> };

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>, command: string): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`${command}: unknown option --${name} (see 'finercam help ${command}')`);
    if (s.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      options[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    if (s.kind === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got '${value}'`);
      options[name] = n;
    } else if (s.kind === 'list') {
      options[name] = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
    } else {
      if (s.choices && !s.choices.includes(value)) {
        throw new UsageError(`${command}: --${name} must be one of ${s.choices.join(', ')}, got '${value}'`);
      }
      options[name] = value;
    }
  }
  for (const [name, s] of Object.entries(spec)) {
    if (options[name] === undefined && s.default !== undefined) options[name] = s.default;
  }
  return { positionals, options };
}

const HELP_COLUMN = 34;
const HELP_WIDTH = 100;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

export function helpText(command: string, summary: string, usage: string, spec: Record<string, OptionSpec>): string {
  const lines = [`finercam ${command} — ${summary}`, '', `usage: finercam ${command} ${usage}`, ''];
  for (const [name, s] of Object.entries(spec)) {
    const arg = s.kind === 'boolean' ? '' : s.kind === 'list' ? ' <a,b,...>' : s.choices ? ` <${s.choices.join('|')}>` : ` <${s.kind === 'number' ? 'n' : 'value'}>`;
    const def = s.default !== undefined && s.kind !== 'boolean' ? ` (default: ${Array.isArray(s.default) ? s.default.join(',') : s.default})` : '';
    const left = `  --${name}${arg}`;
    const text = wrap(s.help + def, HELP_WIDTH - HELP_COLUMN);
    // a left column that reaches the help column gets a line of its own, so the two never run together
    if (left.length >= HELP_COLUMN - 1) lines.push(left);
    else lines.push(left.padEnd(HELP_COLUMN) + text.shift());
    for (const t of text) lines.push(' '.repeat(HELP_COLUMN) + t);
  }
  return lines.join('\n');
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function num(p: Parsed, name: string): number | undefined {
  const v = p.options[name];
  return typeof v === 'number' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.options[name] === true;
}

export function list(p: Parsed, name: string): string[] | undefined {
  const v = p.options[name];
  return Array.isArray(v) ? v : undefined;
}

export function required(p: Parsed, name: string, command: string): string {
  const v = str(p, name);
  if (!v) throw new UsageError(`${command}: --${name} is required (see 'finercam help ${command}')`);
  return v;
}
