// Server-sent events on a raw response (fastify hands it over with reply.hijack()): one `data:` line per
// JSON chunk, and `data: [DONE]` at the end, as OpenAI streams chat completions.
import type { ServerResponse } from 'node:http';

export class SseStream {
  constructor(private readonly res: ServerResponse) {}

  open(extraHeaders: Record<string, string> = {}): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...extraHeaders });
  }

  get closed(): boolean { return this.res.destroyed || this.res.writableEnded; }

  send(data: unknown): void {
    if (!this.closed) this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (this.closed) return;
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
}
