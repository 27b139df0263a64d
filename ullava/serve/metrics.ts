// Prometheus metrics (prom-client) of one server: requests by route and status, tokens in and out, the
// queue's depth, the running batch's size (now, and per decode step), and latency histograms (whole
// request, time to first token, queue wait). A registry per server, so tests can run several.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { Device } from '../../engine/index.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'ullava_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  readonly promptTokens = new Counter({ name: 'ullava_prompt_tokens_total', help: 'Prompt tokens processed (media tokens included)', registers: [this.registry] });
  readonly completionTokens = new Counter({ name: 'ullava_completion_tokens_total', help: 'Tokens generated', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'ullava_queue_depth', help: 'Requests waiting for a slot in the running batch', registers: [this.registry] });
  readonly running = new Gauge({ name: 'ullava_running_sequences', help: 'Sequences in the running decode batch', registers: [this.registry] });
  readonly batchSize = new Histogram({ name: 'ullava_decode_batch_size', help: 'Sequences per decode step', buckets: [1, 2, 4, 8, 16, 32, 64], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'ullava_rejected_total', help: 'Requests refused before running, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly cancelled = new Counter({ name: 'ullava_cancelled_total', help: 'Requests ended early, by reason (client gone, time limit)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly latency = new Histogram({ name: 'ullava_request_duration_seconds', help: 'Whole request, received to answered', labelNames: ['route'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly firstToken = new Histogram({ name: 'ullava_time_to_first_token_seconds', help: 'Received to first generated text', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly queueWait = new Histogram({ name: 'ullava_queue_wait_seconds', help: 'Received to started (prefill)', buckets: LATENCY_BUCKETS, registers: [this.registry] });

  constructor(device?: Device) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ullava_process_' });
    if (device) {
      // Read at scrape time: GPU memory must stay flat under load (the KV caches are freed as requests leave).
      const registers = [this.registry];
      new Gauge({ name: 'ullava_gpu_live_bytes', help: 'GPU bytes held by live tensors (weights, KV caches, features)', registers, collect() { this.set(device.memory().liveBytes); } });
      new Gauge({ name: 'ullava_gpu_pooled_bytes', help: 'GPU bytes in freed buffers kept for reuse', registers, collect() { this.set(device.memory().pooledBytes); } });
    }
  }
}
