// One queue in front of the GPU, and continuous batching behind it. The engine's scopes and default device
// are process-wide, so a single loop does all GPU work: at each step boundary it drops requests whose
// client left or whose time ran out (freeing their KV caches at once), starts queued requests while the
// running batch has room (encode the media, prefill alone), runs ONE decode step for every running
// sequence together (LlamaForCausalLM.decodeRows: each row with its own KV cache), and answers those that
// finished. Memory is bounded by construction: at most maxQueue requests wait, holding at most
// maxQueuedMediaBytes of decoded media (one request may always wait alone), and at most maxBatch run
// (each KV cache bounded by the model's positions). A full queue is refused with 429 and Retry-After.
import type { LoadedUllava } from '../models/ullava/load.js';
import { GenerationSequence } from '../chat/sequence.js';
import { ApiError } from './errors.js';
import { RunningJob, type JobSpec, type JobResult } from './job.js';
import type { ServerMetrics } from './metrics.js';

export interface SchedulerOptions {
  /** Sequences decoded together (1 = one request at a time). */
  maxBatch: number;
  /** Requests allowed to wait for a slot; one more is refused with 429. */
  maxQueue: number;
  /** Seconds a request may take in all, queue included. */
  timeLimitSec: number;
  /** Bytes of decoded media (RGB) that may wait in the queue; past it a request is refused with 429 too. */
  maxQueuedMediaBytes?: number;
}

/** Decoded RGB bytes a request holds while it waits. */
export function mediaBytes(spec: JobSpec): number {
  const m = spec.media;
  if (!m) return 0;
  return m.kind === 'image' ? m.image.data.length : new Set(m.frames).size * (m.frames[0]?.data.length ?? 0);
}

export interface Submission {
  spec: JobSpec;
  /** Aborted when the client disconnects: the request leaves the queue or the batch at the next boundary. */
  signal: AbortSignal;
  /** Called when the request leaves the queue and starts (for the queue-wait metric). */
  onStart?: () => void;
}

interface Entry extends Submission {
  receivedAt: number;
  deadline: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  job?: RunningJob;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export class Scheduler {
  private readonly queue: Entry[] = [];
  private readonly running: Entry[] = [];
  private loop: Promise<void> | null = null;
  private queuedBytes = 0;
  private closed = false;
  /** Sequences finished and decode steps run since start (for tests and the bench). */
  readonly stats = { steps: 0, finished: 0, maxRunning: 0 };

  constructor(readonly loaded: LoadedUllava, readonly o: SchedulerOptions, private readonly metrics: ServerMetrics) {}

  get queued(): number { return this.queue.length; }
  get active(): number { return this.running.length; }

  /** Queues a request; resolves with its answer. Throws 429 at once when the queue is full. */
  submit(s: Submission): Promise<JobResult> {
    if (this.closed) return Promise.reject(new ApiError(503, 'the server is shutting down', 'server_error', 'shutting_down'));
    if (this.queue.length >= this.o.maxQueue) {
      this.metrics.rejected.inc({ reason: 'queue_full' });
      // A rough wait: one batch's worth of requests ahead finishes in about the time limit's tenth.
      const retry = String(Math.max(1, Math.ceil(this.o.timeLimitSec / 10)));
      throw new ApiError(429, `the queue is full (${this.o.maxQueue} requests waiting, ${this.running.length} running); retry after ${retry} s`,
        'rate_limit_error', 'queue_full', null, { 'retry-after': retry });
    }
    const bytes = mediaBytes(s.spec);
    const budget = this.o.maxQueuedMediaBytes ?? Infinity;
    if (this.queue.length > 0 && this.queuedBytes + bytes > budget) {
      this.metrics.rejected.inc({ reason: 'queue_media_full' });
      const retry = String(Math.max(1, Math.ceil(this.o.timeLimitSec / 10)));
      throw new ApiError(429, `the queue holds ${(this.queuedBytes / 2 ** 20).toFixed(1)} MiB of images and videos, and this request's ${(bytes / 2 ** 20).toFixed(1)} MiB would pass the ${(budget / 2 ** 20).toFixed(1)} MiB limit; retry after ${retry} s`,
        'rate_limit_error', 'queue_full', null, { 'retry-after': retry });
    }
    return new Promise<JobResult>((resolve, reject) => {
      const now = performance.now();
      this.queuedBytes += bytes;
      this.queue.push({ ...s, receivedAt: now, deadline: now + this.o.timeLimitSec * 1000, resolve, reject });
      this.metrics.queueDepth.set(this.queue.length);
      this.loop ??= this.run().finally(() => { this.loop = null; if (this.queue.length) this.loop ??= this.run(); });
    });
  }

  /** Refuses new requests and waits for the running and queued ones to finish. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.loop) await this.loop;
  }

  private async run(): Promise<void> {
    while (this.queue.length || this.running.length) {
      this.dropLeavers();
      await this.admit();
      const live = this.running.filter((e) => !e.job!.seq.done);
      if (live.length) {
        const seqs = live.map((e) => e.job!.seq);
        try {
          await GenerationSequence.accept(seqs, GenerationSequence.decode(this.loaded.model, seqs));
          this.stats.steps++;
          this.metrics.batchSize.observe(seqs.length);
        } catch (e) {
          // A failed step leaves every running cache in an unknown state: end them all with the error.
          for (const entry of live) this.end(entry, new ApiError(500, `generation failed: ${(e as Error).message}`, 'server_error', 'generation_failed'));
        }
      }
      await this.finishDone();
      // Let the event loop accept connections and write streamed text between steps.
      await tick();
    }
  }

  /** Clients gone or out of time leave the queue and the batch now; their memory is freed. */
  private dropLeavers(): void {
    const now = performance.now();
    const reason = (e: Entry) => (e.signal.aborted ? 'client_gone' : now > e.deadline ? 'time_limit' : null);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const r = reason(this.queue[i]);
      if (r) { const [e] = this.queue.splice(i, 1); this.queuedBytes -= mediaBytes(e.spec); this.metrics.cancelled.inc({ reason: r }); e.reject(this.leaveError(r)); }
    }
    for (const e of [...this.running]) {
      const r = reason(e);
      if (r) { this.metrics.cancelled.inc({ reason: r }); this.end(e, this.leaveError(r)); }
    }
    this.metrics.queueDepth.set(this.queue.length);
  }

  private leaveError(r: 'client_gone' | 'time_limit'): ApiError {
    return r === 'client_gone' ? new ApiError(499, 'the client closed the connection', 'invalid_request_error', 'client_closed')
      : new ApiError(504, `the request ran past this server's time limit of ${this.o.timeLimitSec} s (queue wait included)`, 'timeout_error', 'time_limit');
  }

  /** Starts queued requests while the batch has room: media encoded, prompt prefilled alone, first token taken. */
  private async admit(): Promise<void> {
    while (this.running.length < this.o.maxBatch && this.queue.length) {
      const e = this.queue.shift()!;
      this.queuedBytes -= mediaBytes(e.spec);
      this.metrics.queueDepth.set(this.queue.length);
      if (e.signal.aborted) { this.metrics.cancelled.inc({ reason: 'client_gone' }); e.reject(this.leaveError('client_gone')); continue; }
      e.onStart?.();
      try {
        e.job = new RunningJob(this.loaded, e.spec);
        this.running.push(e);
        await GenerationSequence.accept([e.job.seq], e.job.seq.prefill());
        e.job.releaseFeatures();
      } catch (err) {
        this.end(e, err instanceof ApiError ? err : new ApiError(500, `could not start the request: ${(err as Error).message}`, 'server_error', 'start_failed'));
      }
    }
    this.stats.maxRunning = Math.max(this.stats.maxRunning, this.running.length);
    this.metrics.running.set(this.running.length);
  }

  private async finishDone(): Promise<void> {
    for (const e of [...this.running]) {
      if (!e.job!.seq.done) continue;
      this.remove(e);
      try {
        const r = await e.job!.finish();
        this.stats.finished++;
        e.resolve(r);
      } catch (err) {
        e.job!.dispose();
        e.reject(new ApiError(500, `could not draw the masks: ${(err as Error).message}`, 'server_error', 'masks_failed'));
      }
    }
    this.metrics.running.set(this.running.length);
  }

  private remove(e: Entry): void {
    const i = this.running.indexOf(e);
    if (i >= 0) this.running.splice(i, 1);
  }

  private end(e: Entry, err: unknown): void {
    this.remove(e);
    e.job?.dispose();
    e.reject(err);
    this.metrics.running.set(this.running.length);
  }
}
