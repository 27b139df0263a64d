// Generation with a KV cache: one prefill over the (left-padded) prompts, then one token per step per
// sequence. Each step reads back only the last position's logits ([B, vocab]) and samples on the host.
// Text streams through a UTF-8-safe incremental decoder, stop strings are held back until they can no
// longer match, and at every step that emits [SEG] or [LOC] the final-norm hidden state that produced
// the token is kept (a copy of one row), for the mask and box heads.
import { Tensor, slice, reshape, contiguous, noGrad, scope, ones, untrack, type Device } from '../../engine/index.js';
import { KVCache } from '../models/llama/kv-cache.js';
import type { UllavaForCausalLM, SpliceSpan } from '../models/ullava/model.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import { sampleToken, makeRng, validateSampling, StopStrings, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate after any forced ones (default 512). */
  maxNewTokens?: number;
  /** Text that ends an answer (not included in it); default ['</s>']. */
  stop?: string[];
  /** Receives each sequence's new text as soon as it is complete UTF-8 (and can no longer be a stop string). */
  onText?: (text: string, sequence: number) => void;
  /** KV cache storage dtype (default: the model's). */
  cacheDtype?: Tensor['dtype'];
}

export interface Prompt {
  ids: number[];
  /** Media features spliced in at the span starting at `span.start` (token index in ids). */
  span?: SpliceSpan | null;
  /**
   * The answer's first tokens, given instead of sampled (an answer prefix; the evaluation's teacher
   * forcing). They count as generated: their text is streamed and a forced [SEG] yields a mask.
   */
  forced?: number[];
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Generation {
  ids: number[];
  text: string;
  finishReason: FinishReason;
  /** Final-norm hidden states [hidden] (f32-or-model dtype) that emitted each [SEG], in order. */
  segHidden: Tensor[];
  /** The same for [LOC] (newer checkpoints). */
  locHidden: Tensor[];
}

interface SeqState {
  ids: number[];
  text: string;
  shown: number;
  done: FinishReason | null;
  decoder: ReturnType<LlamaTokenizer['streamDecoder']>;
  stops: StopStrings;
  seg: Tensor[];
  loc: Tensor[];
}

/** Generates a continuation for each prompt (batched, left-padded). The caller owns the returned tensors. */
export async function generate(model: UllavaForCausalLM, tokenizer: LlamaTokenizer, prompts: Prompt[], o: GenerateOptions = {}): Promise<Generation[]> {
  validateSampling(o);
  const maxNew = o.maxNewTokens ?? 512;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new RangeError(`maxNewTokens must be a positive integer, got ${maxNew}`);
  if (prompts.length === 0) return [];
  const B = prompts.length;
  const lens = prompts.map((p) => p.ids.length);
  if (lens.some((l) => l === 0)) throw new RangeError('generate: an empty prompt');
  const S = Math.max(...lens);
  // Each sequence may generate its forced tokens plus maxNew more.
  const limits = prompts.map((p) => (p.forced?.length ?? 0) + maxNew);
  const steps = Math.max(...limits);
  const maxPos = model.config.llm.maxPositionEmbeddings;
  if (S + steps > maxPos) {
    throw new RangeError(`generate: a prompt of ${S} tokens plus ${steps} new ones exceeds the model's ${maxPos} positions; ask for fewer new tokens`);
  }
  const device: Device = model.lm.model.embed_tokens.weight.device;
  const eos = tokenizer.eosId;
  const segId = model.config.segTokenId, locId = model.config.locTokenId;
  const pad = tokenizer.tokenId('[PAD]') ?? 0;
  const rng = makeRng(o.seed);
  const states: SeqState[] = prompts.map(() => ({ ids: [], text: '', shown: 0, done: null, decoder: tokenizer.streamDecoder(),
    stops: new StopStrings(o.stop ?? ['</s>']), seg: [], loc: [] }));
  const cache = new KVCache(model.config.llm, { batch: B, maxLength: S + steps, dtype: o.cacheDtype ?? (model.dtype === 'f32' ? 'f32' : model.dtype), device });
  try {
    // Prefill: left padding, so every sequence's last prompt token sits at position S - 1.
    const idsHost = new Int32Array(B * S).fill(pad);
    const maskHost = new Float32Array(B * S);
    prompts.forEach((p, b) => {
      const off = S - p.ids.length;
      idsHost.set(p.ids, b * S + off);
      maskHost.fill(1, b * S + off, (b + 1) * S);
    });
    let step = noGrad(() => scope(() => {
      const ids = Tensor.fromHost(idsHost, [B, S], 'i32', device);
      const mask = Tensor.fromHost(maskHost, [B, S], 'f32', device);
      const spans = prompts.map((p) => (p.span ? { start: p.span.start + S - p.ids.length, features: p.span.features } : null));
      const embeds = model.embedWithMedia(ids, spans);
      const out = model.lm.forward({ inputsEmbeds: embeds, attentionMask: mask, kvCache: cache, lastLogitsOnly: true });
      return { logits: out.logits, hidden: slice(out.hidden, 1, S - 1) };
    }));
    const allPrompt = prompts.map((p) => p.ids);
    for (let t = 0; t < steps; t++) {
      const logits = (await step.logits.toArray()) as Float32Array; // [B, 1, V]
      const V = logits.length / B;
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const st = states[b];
        if (st.done) { next.push(pad); continue; }
        const row = logits.subarray(b * V, (b + 1) * V);
        const forced = prompts[b].forced;
        // The history is only needed (and only copied) for the repetition penalty.
        const history = (o.repetitionPenalty ?? 1) !== 1 ? [...allPrompt[b], ...st.ids] : [];
        const id = forced && t < forced.length ? forced[t] : sampleToken(row, o, history, rng);
        next.push(id);
        if (id === segId || (locId !== null && id === locId)) {
          const h = noGrad(() => scope(() => contiguous(reshape(slice(step.hidden, 0, b, b + 1), [step.hidden.shape[2]]))));
          untrack(h);
          (id === segId ? st.seg : st.loc).push(h);
        }
        if (id === eos) { st.done = 'eos'; emit(st, b, st.decoder.flush(), o, true); continue; }
        st.ids.push(id);
        emit(st, b, st.decoder.push(id), o, false);
        if (!st.done && st.ids.length >= limits[b]) { st.done = 'length'; emit(st, b, st.decoder.flush(), o, true); }
      }
      step.logits.dispose(); step.hidden.dispose();
      if (states.every((s) => s.done)) { step = null as never; break; }
      step = noGrad(() => scope(() => {
        const ids = Tensor.fromHost(Int32Array.from(next), [B, 1], 'i32', device);
        const mask = ones([B, 1], 'f32', device);
        const out = model.lm.forward({ inputIds: ids, attentionMask: mask, kvCache: cache, lastLogitsOnly: true });
        return { logits: out.logits, hidden: out.hidden };
      }));
    }
    if (step) { step.logits.dispose(); step.hidden.dispose(); }
  } catch (e) {
    for (const s of states) for (const t of [...s.seg, ...s.loc]) t.dispose();
    throw e;
  } finally {
    cache.dispose();
  }
  return states.map((s) => ({ ids: s.ids, text: s.text, finishReason: s.done ?? 'length', segHidden: s.seg, locHidden: s.loc }));
}

/** Appends decoded text, cuts it at a stop string, and streams what can no longer change. */
function emit(st: SeqState, b: number, piece: string, o: GenerateOptions, final: boolean): void {
  if (piece) {
    const at = st.stops.push(piece);
    if (at >= 0) { st.text = st.stops.all.slice(0, at); st.done ??= 'stop'; final = true; } else st.text = st.stops.all;
  }
  const safe = final ? st.text.length : Math.max(st.shown, st.text.length - st.stops.pendingPrefix());
  if (safe > st.shown) {
    o.onText?.(st.text.slice(st.shown, safe), b);
    st.shown = safe;
  }
}
