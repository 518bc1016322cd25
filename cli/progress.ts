// Progress for long runs: a one-line bar with rate and ETA on a terminal, plain periodic lines otherwise
// (logs, CI), so nothing floods a file.
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly start = Date.now();
  private lastPlain = 0;
  constructor(private readonly total: number, private readonly label: string, private readonly out: NodeJS.WriteStream = process.stderr) {}

  /** `count` items finished (a batch counts its images, so the total is in the units the user knows). */
  tick(ok: boolean, item: string, count = 1): void {
    this.done += count;
    if (!ok) this.failed += count;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-3);
    const eta = (this.total - this.done) / Math.max(rate, 1e-9);
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * this.done) / Math.max(this.total, 1));
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      const line = `${this.label} [${bar}] ${this.done}/${this.total} ${rate.toFixed(2)}/s ETA ${fmtTime(eta)}${this.failed ? ` (${this.failed} failed)` : ''} ${item}`;
      this.out.write(`\r${line.slice(0, (this.out.columns || 100) - 1).padEnd((this.out.columns || 100) - 1)}`);
      if (this.done === this.total) this.out.write('\n');
    } else if (this.done === this.total || Date.now() - this.lastPlain > 2000 || this.done === count) {
      this.lastPlain = Date.now();
      this.out.write(`${this.label}: ${this.done}/${this.total} (${rate.toFixed(2)}/s, ETA ${fmtTime(eta)})${this.failed ? `, ${this.failed} failed` : ''}\n`);
    }
  }

  /** A message that must not be overwritten by the bar. */
  note(msg: string): void {
    if (this.out.isTTY) this.out.write(`\r${' '.repeat((this.out.columns || 100) - 1)}\r`);
    this.out.write(`${msg}\n`);
  }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
