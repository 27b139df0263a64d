// `ullava serve`: the OpenAI-compatible HTTP server (ullava/serve) over one loaded model, with the web
// page at /. Binds 127.0.0.1 unless --host says otherwise; with --api-key every route but /health (and
// the page's static files) needs "Authorization: Bearer KEY". Stops cleanly on SIGINT / SIGTERM.
import { basename } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { MODEL_OPTIONS, MODEL_USAGE, parseOptions, parseNumber, loadModel } from './model-options.js';
import { createServer } from '../serve/server.js';
import { DEFAULT_LIMITS } from '../serve/limits.js';

const usage = `usage: ullava serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--max-batch N] [--max-queue N]

Serves u-LLaVA over HTTP: POST /v1/chat/completions (OpenAI's schema, streaming, images and videos as
data: URLs, masks and boxes in the answer), POST /v1/segment, GET /v1/models, GET /health, GET /metrics
(Prometheus), and a web page at /.
  --host H           address to bind (default 127.0.0.1: this machine only)
  --port P           port (default 8080; 0 = any free port)
  --api-key KEY      require "Authorization: Bearer KEY" on every route but /health and the page (default:
                     $ULLAVA_API_KEY if set, else no key)
  --max-batch N      sequences decoded together, continuous batching (default 8; 1 = one at a time)
  --max-queue N      requests that may wait; one more is answered 429 with Retry-After (default 64)
  --time-limit S     seconds a request may take, queue included, before it is ended with 504 (default 300)
  --max-tokens-cap N largest max_tokens a request may ask (default ${DEFAULT_LIMITS.maxTokensCap})
  --max-body-mb M    largest request body in MiB (default ${DEFAULT_LIMITS.maxBodyBytes / 1024 / 1024})
  --max-pixels N     largest image or video frame, width x height (default ${DEFAULT_LIMITS.maxPixels})
  --max-video-seconds S  longest video (default ${DEFAULT_LIMITS.maxVideoSeconds})
  --max-queued-media-mb M  decoded images and frames that may wait in the queue (default ${DEFAULT_LIMITS.maxQueuedMediaBytes / 1024 / 1024}); past it, 429
${MODEL_USAGE}`;

export const serve: CliCommand = {
  name: 'serve',
  summary: 'an OpenAI-compatible HTTP server with masks and boxes, and a web page',
  usage,
  async run(argv) {
    const { values } = parseOptions(argv, {
      ...MODEL_OPTIONS, host: { type: 'string' }, port: { type: 'string' }, 'api-key': { type: 'string' },
      'max-batch': { type: 'string' }, 'max-queue': { type: 'string' }, 'time-limit': { type: 'string' },
      'max-tokens-cap': { type: 'string' }, 'max-body-mb': { type: 'string' }, 'max-pixels': { type: 'string' },
      'max-video-seconds': { type: 'string' }, 'max-queued-media-mb': { type: 'string' },
    });
    const port = parseNumber('port', values.port, { integer: true, min: 0 }) ?? 8080;
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const host = values.host ?? '127.0.0.1';
    const apiKey = values['api-key'] ?? process.env.ULLAVA_API_KEY;
    if (apiKey !== undefined && apiKey.trim() === '') throw new UsageError('--api-key is empty');
    const maxBatch = parseNumber('max-batch', values['max-batch'], { integer: true, min: 1 }) ?? 8;
    const maxQueue = parseNumber('max-queue', values['max-queue'], { integer: true, min: 0 }) ?? 64;
    const timeLimitSec = parseNumber('time-limit', values['time-limit'], { min: 1 }) ?? 300;
    const maxBodyMb = parseNumber('max-body-mb', values['max-body-mb'], { min: 1 });
    const queuedMb = parseNumber('max-queued-media-mb', values['max-queued-media-mb'], { min: 1 });
    const limits = {
      maxTokensCap: parseNumber('max-tokens-cap', values['max-tokens-cap'], { integer: true, min: 1 }),
      maxBodyBytes: maxBodyMb === undefined ? undefined : Math.floor(maxBodyMb * 1024 * 1024),
      maxPixels: parseNumber('max-pixels', values['max-pixels'], { integer: true, min: 1 }),
      maxVideoSeconds: parseNumber('max-video-seconds', values['max-video-seconds'], { min: 1 }),
      maxQueuedMediaBytes: queuedMb === undefined ? undefined : Math.floor(queuedMb * 1024 * 1024),
    };
    const loaded = await loadModel(values);
    const modelId = loaded.demo ? 'ullava-shapes' : basename(loaded.dir.replace(/\/+$/, ''));
    const { app } = await createServer(loaded, {
      modelId, apiKey, maxBatch, maxQueue, timeLimitSec,
      limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    });
    const address = await app.listen({ host, port });
    process.stderr.write(`ullava serve: ${modelId} on ${address} (web page at ${address}/, OpenAI base URL ${address}/v1; ` +
      `batch ${maxBatch}, queue ${maxQueue}${apiKey ? ', API key required' : ''})\n`);
    // Tests and scripts read the bound address (with --port 0) from this line.
    process.stdout.write(`listening ${address}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => { process.stderr.write('ullava serve: stopping (finishing the requests in progress)\n'); resolve(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await app.close();
    loaded.model.dispose();
    return 0;
  },
};
