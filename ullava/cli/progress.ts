// A progress bar on stderr (bytes, or plain counts such as evaluated samples): done/total, rate and ETA. Redraws in place on a terminal; elsewhere
// (logs, CI) prints a line at most every few seconds.

function fmtBytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}

export class ProgressBar {
  private t0 = performance.now();
  private lastDraw = 0;
  constructor(private label: string, private total: number,
    private out: NodeJS.WriteStream = process.stderr, private width = 30, private unit: 'bytes' | 'count' = 'bytes') {}

  line(done: number): string {
    const elapsed = (performance.now() - this.t0) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * this.width);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const n = this.unit === 'bytes' ? fmtBytes : (v: number) => String(v);
    const r = this.unit === 'bytes' ? fmtBytes(rate) : rate.toFixed(rate < 10 ? 2 : 0);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(frac * 100).toFixed(1)}% ` +
      `${n(done)}/${n(this.total)} ${r}/s ETA ${fmtTime(eta)}`;
  }

  update(done: number): void {
    const now = performance.now();
    const tty = !!this.out.isTTY;
    if (done < this.total && now - this.lastDraw < (tty ? 100 : 5000)) return;
    this.lastDraw = now;
    this.out.write(tty ? `\r${this.line(done)}\x1b[K` : `${this.line(done)}\n`);
  }

  finish(done: number): void {
    this.lastDraw = 0;
    this.update(done);
    if (this.out.isTTY) this.out.write('\n');
  }
}
