// Helpers the model routes share.
import type { FastifyReply } from 'fastify';
import { ApiError } from '../errors.js';
import type { ServerContext } from '../server.js';

/** A request may name the model; it must be the one served (OpenAI answers 404 model_not_found too). */
export function checkModel(ctx: ServerContext, model: string | undefined): void {
  if (model !== undefined && model !== ctx.modelId) {
    throw new ApiError(404, `the model "${model}" is not served here; this server serves "${ctx.modelId}" (GET /v1/models)`, 'invalid_request_error', 'model_not_found', 'model');
  }
}

/** Aborted when the connection closes before the response was written in full. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) ac.abort(); });
  return ac.signal;
}
