// POST /v1/segment: an image (data: URL) and what to find -> the answer, its masks and boxes. The
// question is the RES evaluation's ("Output the segmentation mask of the ... in the image."), and by
// default the answer is made to begin "Sure. Info: [SEG]" (with [LOC] on checkpoints that have the box
// decoder) so that there is always a mask, as `ullava segment` does.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { segmentBody, type SegmentRequest } from '../schemas.js';
import { buildSpec } from '../request-spec.js';
import { extrasOf, openAiFinish } from '../answer.js';
import { SYSTEM_PROMPT, FORCED_SEG_PREFIX, FORCED_SEG_LOC_PREFIX, segmentationQuestion } from '../../chat/conversation.js';
import type { ServerContext } from '../server.js';
import { checkModel, clientGone } from './common.js';

export const segmentRoutes = (ctx: ServerContext): FastifyPluginAsync => async (app) => {
  app.post<{ Body: SegmentRequest }>('/v1/segment', { schema: { body: segmentBody } }, async (req, reply) => {
    const t0 = performance.now();
    const b = req.body;
    checkModel(ctx, b.model);
    const question = segmentationQuestion(b.prompt);
    const prefix = b.force_seg === false ? undefined : ctx.loaded.model.detDecoder ? FORCED_SEG_LOC_PREFIX : FORCED_SEG_PREFIX;
    const spec = await buildSpec(ctx.loaded, ctx.limits,
      { system: SYSTEM_PROMPT, turns: [{ role: 'user', text: question }], media: { kind: 'image', url: b.image, param: 'image' } },
      { maxTokens: b.max_tokens ?? Math.min(64, ctx.limits.maxTokensCap), maxTokensParam: 'max_tokens', seed: b.seed, stop: [], answerPrefix: prefix });
    const r = await ctx.scheduler.submit({ spec, signal: clientGone(reply), onStart: () => ctx.metrics.queueWait.observe((performance.now() - t0) / 1000) });
    ctx.metrics.promptTokens.inc(r.promptTokens);
    ctx.metrics.completionTokens.inc(r.completionTokens);
    ctx.metrics.latency.observe({ route: 'segment' }, (performance.now() - t0) / 1000);
    const { masks = [], boxes = [] } = extrasOf(r, b.mask_format);
    return {
      id: `seg-${randomUUID()}`, object: 'segmentation', created: Math.floor(Date.now() / 1000), model: ctx.modelId,
      question, answer: r.text, finish_reason: openAiFinish(r.finishReason), width: r.width, height: r.height, masks, boxes,
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens },
    };
  });
};
