// GET /health (no key needed: for load balancers), GET /v1/models, GET /metrics (Prometheus text).
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../server.js';

const started = Math.floor(Date.now() / 1000);

export const infoRoutes = (ctx: ServerContext): FastifyPluginAsync => async (app) => {
  app.get('/health', async () => ({ status: 'ok', model: ctx.modelId, queued: ctx.scheduler.queued, running: ctx.scheduler.active }));
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: ctx.modelId, object: 'model', created: started, owned_by: 'ullava' }],
  }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
};
