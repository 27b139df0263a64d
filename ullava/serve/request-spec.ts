// From a validated request to what the scheduler runs: media decoded under the limits, the prompt
// tokenised, max_tokens and the context length checked. All of it on the CPU, before queueing, so that
// bad input is answered at once with a 400 and never takes a slot.
import type { LoadedUllava } from '../models/ullava/load.js';
import type { SamplingOptions } from '../chat/sampling.js';
import { validateSampling } from '../chat/sampling.js';
import { badRequest } from './errors.js';
import { decodeImageUrl, decodeVideoUrl, type RequestMedia } from './media.js';
import { promptIds, type ParsedChat } from './prompt.js';
import type { ServeLimits } from './limits.js';
import type { JobSpec } from './job.js';

export interface SpecOptions extends SamplingOptions {
  maxTokens: number | undefined;
  maxTokensParam: string;
  stop: string[];
  /** The answer's forced beginning (text). */
  answerPrefix?: string;
}

export async function buildSpec(loaded: LoadedUllava, limits: ServeLimits, chat: ParsedChat, o: SpecOptions): Promise<JobSpec> {
  const maxTokens = o.maxTokens ?? Math.min(limits.defaultMaxTokens, limits.maxTokensCap);
  if (maxTokens > limits.maxTokensCap) {
    throw badRequest(`${o.maxTokensParam} is ${maxTokens}, over this server's cap of ${limits.maxTokensCap}; ask for fewer tokens`, o.maxTokensParam, 'max_tokens_too_large');
  }
  const sampling: SamplingOptions = { temperature: o.temperature, topP: o.topP, topK: o.topK, repetitionPenalty: o.repetitionPenalty, seed: o.seed };
  try { validateSampling(sampling); } catch (e) { throw badRequest((e as Error).message); }
  let media: RequestMedia | null = null;
  if (chat.media) {
    media = chat.media.kind === 'image' ? await decodeImageUrl(chat.media.url, chat.media.param, limits)
      : await decodeVideoUrl(chat.media.url, chat.media.param, limits);
  }
  const frames = media?.kind === 'video' ? media.frames.length : limits.videoFrames;
  const { ids, spanStart } = promptIds(loaded, chat, media?.kind ?? null, frames);
  if (media && spanStart < 0) throw badRequest('the prompt lost its media span', 'messages');
  const forced = o.answerPrefix ? loaded.tokenizer.encode(o.answerPrefix) : undefined;
  const maxPos = loaded.config.llm.maxPositionEmbeddings;
  const need = ids.length + (forced?.length ?? 0) + maxTokens;
  if (need > maxPos) {
    throw badRequest(`the prompt has ${ids.length} tokens (media included) and ${o.maxTokensParam} ${maxTokens}: ${need} is over the model's ${maxPos} positions; shorten the conversation or ask for fewer tokens`,
      'messages', 'context_length_exceeded');
  }
  return { ids, spanStart, media, forced, options: { ...sampling, maxNewTokens: maxTokens, stop: ['</s>', ...o.stop] } };
}
