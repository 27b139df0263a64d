// The training progress line on stderr: step, epoch, each loss part, learning rate, tokens/s and ETA.
// Redrawn in place on a terminal; elsewhere (logs, CI) a line at most every few seconds.
import type { StepMetrics } from './metrics.js';

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}

const fmtLoss = (v: number) => (Math.abs(v) >= 100 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4));

export class StepProgress {
  private t0 = performance.now();
  private lastDraw = 0;
  private drawn = false;
  constructor(private total: number, private startStep: number, private out: NodeJS.WriteStream = process.stderr) {}

  line(m: StepMetrics): string {
    const elapsed = (performance.now() - this.t0) / 1000;
    const done = m.step - this.startStep;
    const eta = done > 0 ? (elapsed / done) * (this.total - m.step) : Infinity;
    const { loss, ...parts } = m.losses;
    const partText = Object.entries(parts).map(([k, v]) => `${k} ${fmtLoss(v)}`).join(' ');
    return `step ${m.step}/${this.total} epoch ${m.epoch.toFixed(2)} loss ${fmtLoss(loss ?? NaN)}${partText ? ` (${partText})` : ''} ` +
      `lr ${m.lr.toExponential(2)} ${Math.round(m.tokensPerSecond)} tok/s ETA ${fmtDuration(eta)}`;
  }

  update(m: StepMetrics): void {
    const now = performance.now();
    const tty = !!this.out.isTTY;
    if (m.step < this.total && now - this.lastDraw < (tty ? 100 : 5000)) return;
    this.lastDraw = now;
    this.drawn = true;
    this.out.write(tty ? `\r${this.line(m)}\x1b[K` : `${this.line(m)}\n`);
  }

  finish(): void { if (this.drawn && this.out.isTTY) this.out.write('\n'); }
}
