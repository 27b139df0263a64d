// The per-image cache of the collator: an image's CLIP and SAM inputs are computed once and shared by the
// rounds and samples that use it (RefCOCO has several expressions, hence samples, per image). The
// preprocessing is deterministic (no augmentation), so an entry stays valid across epochs; the cache is
// bounded by bytes (least recently used first out), since a SAM input is 12 MiB at 1024 px.
import type { ImageResult, MediaJob, MediaRunner } from './collate-media.js';

export class ImageCache {
  private entries = new Map<string, { result: Promise<ImageResult>; bytes: number; withSam: boolean }>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes = 512 * 2 ** 20) {}

  /** The image's inputs (with SAM's when `samSize` is not null), from the cache or computed by `runner`. */
  get(runner: MediaRunner, job: Extract<MediaJob, { kind: 'image' }>): Promise<ImageResult> {
    const key = `${job.path}\u0000${job.clipSize}\u0000${job.samSize ?? ''}`;
    const anySam = `${job.path}\u0000${job.clipSize}\u0000`;
    // An entry with SAM's input also serves a request without it.
    const hit = this.entries.get(key) ?? (job.samSize === null ? [...this.entries.entries()].find(([k, e]) => e.withSam && k.startsWith(anySam))?.[1] : undefined);
    if (hit) {
      this.hits++;
      // Refresh its place in the LRU order.
      for (const [k, e] of this.entries) if (e === hit) { this.entries.delete(k); this.entries.set(k, e); break; }
      return hit.result;
    }
    this.misses++;
    const bytes = 4 * (3 * job.clipSize ** 2 + (job.samSize ? 3 * job.samSize ** 2 : 0));
    const result = runner.run(job) as Promise<ImageResult>;
    const entry = { result, bytes, withSam: job.samSize !== null };
    this.entries.set(key, entry);
    this.bytes += bytes;
    // A failed decode is not cached: the error reaches its sample, and a retry decodes again.
    result.catch(() => { if (this.entries.get(key) === entry) { this.entries.delete(key); this.bytes -= bytes; } });
    while (this.bytes > this.maxBytes && this.entries.size > 1) {
      const [k, e] = this.entries.entries().next().value as [string, { bytes: number }];
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
    return result;
  }

  clear(): void { this.entries.clear(); this.bytes = 0; }
}
