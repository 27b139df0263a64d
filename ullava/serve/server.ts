// The HTTP server of `ullava serve`: fastify with its JSON-schema validation (Ajv, set to neither coerce
// types nor drop unknown fields), an OpenAI-style error object for every failure, a Bearer key on every
// route but /health and the web page's static files, and the routes of routes/*.ts over one scheduler.
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import type { LoadedUllava } from '../models/ullava/load.js';
import { ApiError } from './errors.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { ServerMetrics } from './metrics.js';
import { DEFAULT_LIMITS, type ServeLimits } from './limits.js';
import { chatRoutes } from './routes/chat.js';
import { segmentRoutes } from './routes/segment.js';
import { infoRoutes } from './routes/info.js';
import { webRoutes, WEB_FILES } from './routes/web.js';

export interface ServeOptions extends Partial<SchedulerOptions> {
  /** The model's name in /v1/models and in responses. */
  modelId: string;
  apiKey?: string;
  limits?: Partial<ServeLimits>;
  /** fastify's request log (off by default: the CLI prints one line per request itself). */
  logger?: boolean;
}

export interface ServerContext {
  loaded: LoadedUllava;
  scheduler: Scheduler;
  metrics: ServerMetrics;
  limits: ServeLimits;
  modelId: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Ajv's report as one sentence naming the field: "messages[0].content: unknown field \"foo\"". */
function validationMessage(err: FastifyError): { message: string; param: string | null } {
  const v = err.validation?.[0];
  if (!v) return { message: err.message, param: null };
  const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i ? `.${p}` : p)).join('');
  const params = v.params as Record<string, unknown>;
  if (v.keyword === 'additionalProperties') {
    const field = path ? `${path}.${params.additionalProperty}` : String(params.additionalProperty);
    return { message: `unknown field "${field}"; this server accepts the OpenAI fields it implements and refuses others rather than ignore them`, param: field };
  }
  if (v.keyword === 'required') {
    const field = path ? `${path}.${params.missingProperty}` : String(params.missingProperty);
    return { message: `missing required field "${field}"`, param: field };
  }
  return { message: `${path || 'body'} ${v.message}`, param: path || null };
}

export async function createServer(loaded: LoadedUllava, o: ServeOptions): Promise<{ app: FastifyInstance; ctx: ServerContext }> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const metrics = new ServerMetrics(loaded.model.lm.model.embed_tokens.weight.device);
  const scheduler = new Scheduler(loaded, { maxBatch: o.maxBatch ?? 8, maxQueue: o.maxQueue ?? 64, timeLimitSec: o.timeLimitSec ?? 300, maxQueuedMediaBytes: limits.maxQueuedMediaBytes }, metrics);
  const ctx: ServerContext = { loaded, scheduler, metrics, limits, modelId: o.modelId };
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: limits.maxBodyBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  });

  // JSON only: a text/plain body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');

  const key = o.apiKey ? digest(o.apiKey) : null;
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0];
    if (!key || path === '/health' || WEB_FILES.has(path)) return;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1].trim()), key)) {
      throw new ApiError(401, m ? 'incorrect API key' : 'this server needs an API key: send "Authorization: Bearer KEY"', 'authentication_error', 'invalid_api_key');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ((err as FastifyError).validation) {
      const { message, param } = validationMessage(err as FastifyError);
      e = new ApiError(400, message, 'invalid_request_error', 'invalid_request', param);
    } else {
      const code = (err as FastifyError).code;
      const status = (err as FastifyError).statusCode ?? 500;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ApiError(413, `the request body is over this server's limit of ${limits.maxBodyBytes} bytes; send a smaller image or video`, 'invalid_request_error', 'body_too_large');
      else if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) e = new ApiError(400, `the body is not valid JSON: ${err.message}`, 'invalid_request_error', 'invalid_json');
      else if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') e = new ApiError(400, 'the body is empty; send a JSON object', 'invalid_request_error', 'invalid_json');
      else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new ApiError(415, 'send the body as application/json', 'invalid_request_error', 'unsupported_media_type');
      else if (status < 500) e = new ApiError(status, err.message, 'invalid_request_error', code ?? null);
      else {
        req.log.error(err);
        e = new ApiError(500, `internal error: ${err.message}`, 'server_error', 'internal_error');
      }
    }
    if (e.status >= 500 && !o.logger) process.stderr.write(`ullava serve: ${req.method} ${req.url}: ${e.message}\n`);
    reply.code(e.status).headers(e.headers).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, `no route ${req.method} ${req.url.split('?')[0]}`, 'not_found_error', 'unknown_route').body());
  });

  await app.register(infoRoutes(ctx));
  await app.register(chatRoutes(ctx));
  await app.register(segmentRoutes(ctx));
  await app.register(webRoutes());
  app.addHook('onClose', async () => { await scheduler.close(); });
  return { app, ctx };
}
