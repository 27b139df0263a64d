// One generation as an object that can join and leave a running batch: continuous batching. Each
// sequence owns a KV cache of batch 1, is prefilled alone (so its cache holds no padding), and then takes
// one token per decode step together with whatever other sequences are running at that step
// (LlamaForCausalLM.decodeRows: the matmuls batched, attention per row over its own cache). Sampling,
// stop strings, the UTF-8-safe stream and the [SEG] / [LOC] hidden states follow generate.ts exactly, so
// a sequence stepped alone gives the same tokens as generate() with the same options.
import { Tensor, slice, reshape, contiguous, noGrad, scope, untrack, type Device } from '../../engine/index.js';
import { KVCache } from '../models/llama/kv-cache.js';
import type { UllavaForCausalLM } from '../models/ullava/model.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import { sampleToken, makeRng, validateSampling, StopStrings, type SamplingOptions } from './sampling.js';
import type { Prompt, Generation, FinishReason } from './generate.js';

export interface SequenceOptions extends SamplingOptions {
  /** Tokens to generate after any forced ones (default 512). */
  maxNewTokens?: number;
  /** Text that ends an answer (not included in it); default ['</s>']. */
  stop?: string[];
  /** Receives new text as soon as it is complete UTF-8 and can no longer be part of a stop string. */
  onText?: (text: string) => void;
}

/** The tensors a forward step leaves for sampling: logits [B, 1, V] and final-norm hidden [B, 1, hidden]. */
export interface StepOutput { logits: Tensor; hidden: Tensor }

export class GenerationSequence {
  readonly cache: KVCache;
  readonly ids: number[] = [];
  private text = '';
  private shown = 0;
  private finish: FinishReason | null = null;
  private readonly decoder: ReturnType<LlamaTokenizer['streamDecoder']>;
  private readonly stops: StopStrings;
  private readonly rng: () => number;
  private readonly limit: number;
  private readonly seg: Tensor[] = [];
  private readonly loc: Tensor[] = [];
  /** Tokens sampled so far (forced ones included): indexes the forced prefix. */
  private steps = 0;
  /** The token the next decode step feeds in. */
  next = -1;
  private prefilled = false;
  private disposed = false;

  constructor(readonly model: UllavaForCausalLM, readonly tokenizer: LlamaTokenizer, readonly prompt: Prompt, readonly o: SequenceOptions = {}) {
    validateSampling(o);
    const maxNew = o.maxNewTokens ?? 512;
    if (!Number.isInteger(maxNew) || maxNew < 1) throw new RangeError(`maxNewTokens must be a positive integer, got ${maxNew}`);
    if (prompt.ids.length === 0) throw new RangeError('GenerationSequence: an empty prompt');
    this.limit = (prompt.forced?.length ?? 0) + maxNew;
    const maxPos = model.config.llm.maxPositionEmbeddings;
    if (prompt.ids.length + this.limit > maxPos) {
      throw new RangeError(`a prompt of ${prompt.ids.length} tokens plus ${this.limit} new ones exceeds the model's ${maxPos} positions; ask for fewer new tokens`);
    }
    this.decoder = tokenizer.streamDecoder();
    this.stops = new StopStrings(o.stop ?? ['</s>']);
    this.rng = makeRng(o.seed);
    const device: Device = model.lm.model.embed_tokens.weight.device;
    this.cache = new KVCache(model.config.llm, { batch: 1, maxLength: prompt.ids.length + this.limit,
      dtype: model.dtype === 'f32' ? 'f32' : model.dtype, device });
  }

  get done(): boolean { return this.finish !== null; }
  get finishReason(): FinishReason | null { return this.finish; }
  /** Tokens generated so far. */
  get generated(): number { return this.ids.length; }

  /** Encodes the prompt's forward pass into this sequence's cache (nothing is read back yet). */
  prefill(): StepOutput {
    if (this.prefilled) throw new Error('GenerationSequence.prefill: already prefilled');
    this.prefilled = true;
    const { model, prompt } = this;
    const device: Device = model.lm.model.embed_tokens.weight.device;
    const S = prompt.ids.length;
    return noGrad(() => scope(() => {
      const ids = Tensor.fromHost(Int32Array.from(prompt.ids), [1, S], 'i32', device);
      const embeds = model.embedWithMedia(ids, [prompt.span ?? null]);
      // No attention mask: the cache stays free of padding, which decodeRows requires.
      const out = model.lm.forward({ inputsEmbeds: embeds, kvCache: this.cache, lastLogitsOnly: true });
      return { logits: out.logits, hidden: slice(out.hidden, 1, S - 1) };
    }));
  }

  /** Encodes one decode step of every sequence given (each must be prefilled and not done). */
  static decode(model: UllavaForCausalLM, seqs: GenerationSequence[]): StepOutput {
    for (const s of seqs) if (!s.prefilled || s.done || s.disposed) throw new Error('GenerationSequence.decode: a sequence that is not running');
    const device: Device = model.lm.model.embed_tokens.weight.device;
    return noGrad(() => scope(() => {
      const ids = Tensor.fromHost(Int32Array.from(seqs, (s) => s.next), [seqs.length, 1], 'i32', device);
      return model.lm.decodeRows(ids, seqs.map((s) => s.cache));
    }));
  }

  /** Reads back a step's logits (one readback for the batch), lets each sequence pick its token, frees the step. */
  static async accept(seqs: GenerationSequence[], out: StepOutput): Promise<void> {
    try {
      const logits = (await out.logits.toArray()) as Float32Array;
      const V = logits.length / seqs.length;
      seqs.forEach((s, b) => s.take(logits.subarray(b * V, (b + 1) * V), out.hidden, b));
    } finally {
      out.logits.dispose();
      out.hidden.dispose();
    }
  }

  private take(row: Float32Array, hidden: Tensor, b: number): void {
    if (this.done) return;
    const { model, tokenizer, o } = this;
    const forced = this.prompt.forced;
    const history = (o.repetitionPenalty ?? 1) !== 1 ? [...this.prompt.ids, ...this.ids] : [];
    const id = forced && this.steps < forced.length ? forced[this.steps] : sampleToken(row, o, history, this.rng);
    this.steps++;
    const segId = model.config.segTokenId, locId = model.config.locTokenId;
    if (id === segId || (locId !== null && id === locId)) {
      const h = noGrad(() => scope(() => contiguous(reshape(slice(hidden, 0, b, b + 1), [hidden.shape[2]]))));
      untrack(h);
      (id === segId ? this.seg : this.loc).push(h);
    }
    if (id === tokenizer.eosId) { this.finish = 'eos'; this.emit(this.decoder.flush(), true); return; }
    this.ids.push(id);
    this.next = id;
    this.emit(this.decoder.push(id), false);
    if (!this.done && this.ids.length >= this.limit) { this.finish = 'length'; this.emit(this.decoder.flush(), true); }
  }

  /** Stops the sequence now (a client left, a time limit): it counts as done with the given reason. */
  stop(reason: FinishReason = 'length'): void {
    if (!this.done) { this.finish = reason; this.emit(this.decoder.flush(), true); }
  }

  private emit(piece: string, final: boolean): void {
    if (piece) {
      const at = this.stops.push(piece);
      if (at >= 0) { this.text = this.stops.all.slice(0, at); this.finish ??= 'stop'; final = true; } else this.text = this.stops.all;
    }
    const safe = final ? this.text.length : Math.max(this.shown, this.text.length - this.stops.pendingPrefix());
    if (safe > this.shown) {
      this.o.onText?.(this.text.slice(this.shown, safe));
      this.shown = safe;
    }
  }

  /**
   * The finished generation. The caller takes ownership of its [SEG] / [LOC] hidden states (dispose()
   * still frees the cache, and those states too unless they were taken).
   */
  result(): Generation {
    const g = { ids: [...this.ids], text: this.text, finishReason: this.finish ?? 'length', segHidden: this.seg.splice(0), locHidden: this.loc.splice(0) };
    return g;
  }

  /** Frees the KV cache and any hidden states not taken by result(). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
    for (const t of [...this.seg, ...this.loc]) t.dispose();
    this.seg.length = 0; this.loc.length = 0;
  }
}
