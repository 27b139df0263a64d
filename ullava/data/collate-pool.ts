// A small pool of worker threads for the collator's media jobs (decode, CLIP / SAM preprocessing, masks),
// so that this work runs beside the GPU step instead of on the thread that drives it. Order stays
// deterministic because callers await results by job, not by completion; a job's error comes back as a
// ManifestError with the sample's line, field and path. Jobs go to the worker with the fewest in flight.
import { Worker } from 'node:worker_threads';
import { ManifestError } from './manifest-types.js';
import type { MediaJob, MediaResult, MediaRunner } from './collate-media.js';

interface Pending { resolve: (r: MediaResult) => void; reject: (e: Error) => void; worker: number }

export class MediaWorkerPool implements MediaRunner {
  private workers: Worker[] = [];
  private inFlight: number[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`MediaWorkerPool: size must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./collate-worker.js', import.meta.url));
      w.on('message', (m: { id: number; result?: MediaResult; error?: { name: string; message: string } }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (--this.inFlight[p.worker] === 0) this.workers[p.worker].unref();
        if (m.error) p.reject(m.error.name === 'ManifestError' ? new ManifestError(m.error.message) : new Error(m.error.message));
        else p.resolve(m.result!);
      });
      // A worker that dies takes its jobs with it: fail them rather than wait forever.
      w.on('error', (e) => this.failWorker(i, e));
      w.on('exit', (code) => { if (!this.closed) this.failWorker(i, new Error(`a data worker thread exited (code ${code})`)); });
      w.unref();
      this.workers.push(w);
      this.inFlight.push(0);
    }
  }

  private failWorker(i: number, e: Error): void {
    for (const [id, p] of this.pending) if (p.worker === i) { this.pending.delete(id); p.reject(e); }
    this.inFlight[i] = 0;
  }

  run(job: MediaJob): Promise<MediaResult> {
    if (this.closed) return Promise.reject(new Error('MediaWorkerPool: closed'));
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.inFlight[i] < this.inFlight[w]) w = i;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      // A worker with jobs keeps the process alive (an idle one does not hold it open at exit).
      if (this.inFlight[w]++ === 0) this.workers[w].ref();
      this.workers[w].postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [, p] of this.pending) p.reject(new Error('MediaWorkerPool: closed'));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
