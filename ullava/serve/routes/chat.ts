// POST /v1/chat/completions in OpenAI's schema (plain or `stream: true` as server-sent events ending with
// [DONE]), with u-LLaVA's extras: the assistant message carries `masks` and `boxes` when the answer has
// [SEG] / [LOC] (in a stream, on the last chunk's delta). A client that disconnects leaves the batch at the
// next step boundary.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { chatCompletionBody, type ChatCompletionRequest } from '../schemas.js';
import { parseMessages } from '../prompt.js';
import { buildSpec } from '../request-spec.js';
import { extrasOf, openAiFinish } from '../answer.js';
import { ApiError } from '../errors.js';
import { SseStream } from '../sse.js';
import type { ServerContext } from '../server.js';
import { checkModel, clientGone } from './common.js';

export const chatRoutes = (ctx: ServerContext): FastifyPluginAsync => async (app) => {
  app.post<{ Body: ChatCompletionRequest }>('/v1/chat/completions', { schema: { body: chatCompletionBody } }, async (req, reply) => {
    const t0 = performance.now();
    const b = req.body;
    checkModel(ctx, b.model);
    const chat = parseMessages(b.messages);
    const maxTokensParam = b.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
    const spec = await buildSpec(ctx.loaded, ctx.limits, chat, {
      maxTokens: b.max_completion_tokens ?? b.max_tokens, maxTokensParam, temperature: b.temperature, topP: b.top_p, topK: b.top_k,
      repetitionPenalty: b.repetition_penalty, seed: b.seed, answerPrefix: b.answer_prefix, stop: b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop,
    });
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const signal = clientGone(reply);
    let firstAt = 0;
    const onStart = () => ctx.metrics.queueWait.observe((performance.now() - t0) / 1000);
    const first = () => { if (!firstAt) { firstAt = performance.now(); ctx.metrics.firstToken.observe((firstAt - t0) / 1000); } };
    const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });
    const count = (p: number, c: number) => { ctx.metrics.promptTokens.inc(p); ctx.metrics.completionTokens.inc(c); };

    if (!b.stream) {
      spec.options.onText = first;
      const r = await ctx.scheduler.submit({ spec, signal, onStart });
      count(r.promptTokens, r.completionTokens);
      ctx.metrics.latency.observe({ route: 'chat' }, (performance.now() - t0) / 1000);
      return {
        id, object: 'chat.completion', created, model: ctx.modelId,
        choices: [{ index: 0, message: { role: 'assistant', content: r.text, ...extrasOf(r, b.mask_format) }, finish_reason: openAiFinish(r.finishReason), logprobs: null }],
        usage: usage(r.promptTokens, r.completionTokens),
      };
    }

    // Streaming: queue first (a full queue is still a plain 429), then take the response over.
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      ({ id, object: 'chat.completion.chunk', created, model: ctx.modelId, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    const sse = new SseStream(reply.raw);
    let opened = false;
    const open = () => { if (!opened) { opened = true; reply.hijack(); sse.open(); sse.send(chunk({ role: 'assistant', content: '' }, null)); } };
    spec.options.onText = (text) => { first(); open(); sse.send(chunk({ content: text }, null)); };
    const pending = ctx.scheduler.submit({ spec, signal, onStart });
    open();
    try {
      const r = await pending;
      count(r.promptTokens, r.completionTokens);
      sse.send(chunk({ ...extrasOf(r, b.mask_format) }, openAiFinish(r.finishReason)));
      if (b.stream_options?.include_usage) sse.send({ id, object: 'chat.completion.chunk', created, model: ctx.modelId, choices: [], usage: usage(r.promptTokens, r.completionTokens) });
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, (e as Error).message, 'server_error');
      sse.send(err.body());
    }
    sse.done();
    ctx.metrics.latency.observe({ route: 'chat' }, (performance.now() - t0) / 1000);
    return reply;
  });
};
