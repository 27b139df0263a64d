// The programmatic u-LLaVA: load a model directory once, then chat about an image, a video or nothing,
// segment and ground referring expressions, caption videos. Each call is self-contained (its turns and
// media are given in full); the image's or video's encoded features are kept between calls while the
// same media comes back, so a multi-turn chat or several prompts about one image encode it only once.
// Calls on one model run one after another (a queue), as they share the model's KV cache and features.
import type { DType } from '../../engine/index.js';
import { loadUllava, type LoadedUllava } from '../models/ullava/load.js';
import { UllavaSession, type Answer } from '../session.js';
import type { FinishReason, GenerateOptions } from '../chat/generate.js';
import { DEFAULT_CAPTION_PROMPT, FORCED_SEG_LOC_PREFIX, FORCED_SEG_PREFIX, segmentationQuestion } from '../chat/conversation.js';
import type { Box, RgbImage } from '../media/index.js';
import { ensureDefaultModel, DEFAULT_MODEL_DTYPE } from './default-model.js';
import { readImage, readVideo, type ImageInput, type VideoInput } from './inputs.js';
import { answerMasks, type Mask } from './masks.js';

export interface LoadOptions {
  /** Parameter dtype: 'bf16' (default, as published), 'f16' or 'f32'; the default model uses f32. */
  dtype?: DType;
  /** Tokens one conversation may reach (prompt + answer), for the memory check before loading (default 2048). */
  maxTokens?: number;
  /** Memory budget in bytes (default: what the device reports, or ULLAVA_MEMORY_GB). */
  budgetBytes?: number;
  /** Called while the weights load, with the bytes read so far and the total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface GenerationOptions {
  /** Longest answer in tokens (defaults: chat 512, caption 256, segment and ground 64). */
  maxNewTokens?: number;
  /** 0 (default) = greedy; > 0 samples. */
  temperature?: number;
  /** Nucleus sampling, in (0, 1] (default 1 = off). */
  topP?: number;
  /** Keep the k most likely tokens (default 0 = off). */
  topK?: number;
  /** > 1 discourages repeated tokens (default 1 = off). */
  repetitionPenalty?: number;
  /** Seed of the sampling draw (reproducible answers). */
  seed?: number;
  /** Texts that end the answer (default ['</s>']). */
  stop?: string[];
  /** Receives the answer's text as it is generated. */
  onToken?: (text: string) => void;
}

export interface ChatTurn { role: 'user' | 'assistant'; content: string }

export interface ChatOptions extends GenerationOptions {
  /** The image the conversation is about (not with `video`). */
  image?: ImageInput;
  /** The video the conversation is about (not with `image`). */
  video?: VideoInput;
  /** Frames sampled uniformly from a video file (default 8, as u-LLaVA was trained). */
  frames?: number;
  /** The answer starts with this text and continues from it (e.g. "Sure. Info: [SEG]" to get a mask). */
  answerPrefix?: string;
}

export interface LocateOptions extends GenerationOptions {
  /**
   * Make the answer start with "Sure. Info: [SEG]" (with the [LOC] decoder: "Sure. Mask: [SEG]; Location:
   * [LOC]"), so a mask is always decoded. The random default model needs it; real weights write [SEG] themselves.
   */
  forceSeg?: boolean;
  /** Send the prompt as the question itself instead of "Output the segmentation mask of the ... in the image." */
  rawPrompt?: boolean;
}

export interface CaptionOptions extends GenerationOptions {
  /** The question (default "Describe the video in detail."). */
  prompt?: string;
  /** Frames sampled uniformly (default 8). */
  frames?: number;
}

/** What every answer reports besides its text. */
export interface AnswerDetails {
  finishReason: FinishReason;
  /** One per [SEG] of the answer (answers about an image only), at the image's size. */
  masks: Mask[];
  /** Pixel x0, y0, x1, y1 (inclusive): from the [LOC] decoder when the model has one, else one per mask (null: empty mask). */
  boxes: (Box | null)[];
  boxSource: 'loc-decoder' | 'mask' | null;
  /** The [tag]...[/tag] texts of the answer. */
  tags: string[];
  tokens: number;
  timeToFirstTokenMs: number;
  totalMs: number;
}

export interface Reply extends AnswerDetails { text: string }

export interface LocateResult extends AnswerDetails { question: string; answer: string }

function normalizeTurns(turns: string | readonly ChatTurn[]): ChatTurn[] {
  if (typeof turns === 'string') return [{ role: 'user', content: turns }];
  const shape = 'turns are a string (one question) or an array of { role: "user" | "assistant", content: string } ' +
    'that alternates user, assistant, user, ... and ends with the user\'s question';
  if (!Array.isArray(turns) || turns.length === 0) throw new TypeError(`chat: ${shape}; got ${Array.isArray(turns) ? 'an empty array' : typeof turns}`);
  turns.forEach((t, i) => {
    const role = i % 2 === 0 ? 'user' : 'assistant';
    if (typeof t?.content !== 'string') throw new TypeError(`chat: turn ${i} has no string content; ${shape}`);
    if (t.role !== role) throw new RangeError(`chat: turn ${i} has role ${JSON.stringify(t.role)} where "${role}" belongs; ${shape}`);
  });
  if (turns.length % 2 === 0) throw new RangeError(`chat: the last turn is the assistant's, so there is no question to answer; ${shape}`);
  return turns.map((t) => ({ role: t.role, content: t.content }));
}

function generateOptions(o: GenerationOptions, defaultMaxNewTokens: number): GenerateOptions {
  const { onToken } = o;
  return {
    maxNewTokens: o.maxNewTokens ?? defaultMaxNewTokens, temperature: o.temperature, topP: o.topP, topK: o.topK,
    repetitionPenalty: o.repetitionPenalty, seed: o.seed, stop: o.stop, onText: onToken ? (s) => onToken(s) : undefined,
  };
}

export class Ullava {
  private readonly session: UllavaSession;
  /** The media the session holds now: its key (content) and, for an image, the image (for mask sizes). */
  private media: { key: string; image: RgbImage | null } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(private readonly loaded: LoadedUllava, readonly dir: string, readonly demo: boolean) {
    this.session = new UllavaSession(loaded);
  }

  /**
   * Loads a u-LLaVA model directory (config.json, the weights, tokenizer.model, added_tokens.json, as
   * published on the Hugging Face hub). Without a directory: the default model, today a tiny RANDOM demo
   * model written once to $ULLAVA_CACHE/tiny-ullava (default ~/.cache/ullava), whose answers are noise.
   */
  static async load(dir?: string, o: LoadOptions = {}): Promise<Ullava> {
    if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
      throw new TypeError(`Ullava.load: dir must be a model directory path (or nothing, for the default model); got ${JSON.stringify(dir)}`);
    }
    const demo = dir === undefined;
    const path = dir ?? (await ensureDefaultModel()).dir;
    const loaded = await loadUllava(path, { ...o, dtype: o.dtype ?? (demo ? DEFAULT_MODEL_DTYPE : undefined) });
    return new Ullava(loaded, path, demo);
  }

  /** Answers the last user turn of a conversation (a string is one user turn), about an image, a video or nothing. */
  async chat(turns: string | readonly ChatTurn[], o: ChatOptions = {}): Promise<Reply> {
    const all = normalizeTurns(turns);
    return this.exclusive(async () => {
      if (o.image !== undefined && o.video !== undefined) throw new TypeError('chat: give an image or a video, not both: a conversation is about one of them');
      await this.useMedia(o.image !== undefined ? { image: o.image } : o.video !== undefined ? { video: o.video, frames: o.frames ?? 8 } : null, 'chat');
      for (const t of all.slice(0, -1)) {
        if (t.role === 'user') this.session.conversation.user(t.content); else this.session.conversation.assistant(t.content);
      }
      const answer = await this.session.ask(all[all.length - 1].content, { ...generateOptions(o, 512), answerPrefix: o.answerPrefix });
      const { text, ...details } = this.details(answer);
      return { text, ...details };
    });
  }

  /** Segments what `prompt` refers to ("the dog on the left"): masks at the image's size, with boxes. */
  async segment(image: ImageInput, prompt: string, o: LocateOptions = {}): Promise<LocateResult> {
    return this.locate('segment', image, prompt, o);
  }

  /** Locates what `prompt` refers to with boxes: the [LOC] decoder's when the model has one, else its masks' boxes. */
  async ground(image: ImageInput, prompt: string, o: LocateOptions = {}): Promise<LocateResult> {
    return this.locate('ground', image, prompt, o);
  }

  /** Describes a video (frames sampled uniformly). */
  async caption(video: VideoInput, o: CaptionOptions = {}): Promise<Reply> {
    const prompt = o.prompt ?? DEFAULT_CAPTION_PROMPT;
    if (typeof prompt !== 'string' || prompt.trim() === '') throw new TypeError('caption: the prompt is empty');
    return this.exclusive(async () => {
      await this.useMedia({ video, frames: o.frames ?? 8 }, 'caption');
      const answer = await this.session.ask(prompt, generateOptions(o, 256));
      return this.details(answer);
    });
  }

  /** Frees the model's GPU memory (after the call in progress, if any). Later calls are refused. */
  dispose(): Promise<void> {
    if (this.disposed) return this.queue.then(() => undefined);
    this.disposed = true;
    this.queue = this.queue.then(() => { this.session.dispose(); this.loaded.model.dispose(); });
    return this.queue.then(() => undefined);
  }

  private async locate(what: 'segment' | 'ground', image: ImageInput, prompt: string, o: LocateOptions): Promise<LocateResult> {
    if (typeof prompt !== 'string' || prompt.trim() === '') {
      throw new TypeError(`${what}: the prompt must be the text of what to find, e.g. "the red square"; got ${JSON.stringify(prompt)}`);
    }
    return this.exclusive(async () => {
      await this.useMedia({ image }, what);
      const question = o.rawPrompt ? prompt : segmentationQuestion(prompt);
      const answerPrefix = o.forceSeg ? (this.loaded.model.detDecoder ? FORCED_SEG_LOC_PREFIX : FORCED_SEG_PREFIX) : undefined;
      const answer = await this.session.ask(question, { ...generateOptions(o, 64), answerPrefix });
      const { text, ...details } = this.details(answer);
      return { question, answer: text, ...details };
    });
  }

  /** Points the session at this media with an empty history; the encoded features are reused when the content is the same. */
  private async useMedia(m: { image: ImageInput } | { video: VideoInput; frames: number } | null, where: string): Promise<void> {
    if (m === null) {
      if (this.media !== null) { this.session.clearMedia(); this.media = null; } else this.session.reset();
      return;
    }
    const read = 'image' in m ? await readImage(m.image, `${where}: image`) : await readVideo(m.video, m.frames, `${where}: video`);
    const key = `${'image' in m ? 'image' : 'video'}:${read.key}`;
    if (this.media?.key === key) { this.session.reset(); return; }
    this.media = null;
    if ('image' in m) { this.session.setImage(read.value as RgbImage); this.media = { key, image: read.value as RgbImage }; }
    else { this.session.setVideo(read.value as RgbImage[]); this.media = { key, image: null }; }
  }

  private details(a: Answer): Reply {
    const image = this.media?.image;
    return {
      text: a.text, finishReason: a.finishReason, masks: image ? answerMasks(a, image) : [], boxes: a.boxes, boxSource: a.boxSource,
      tags: a.tags, tokens: a.tokens, timeToFirstTokenMs: a.timeToFirstTokenMs, totalMs: a.totalMs,
    };
  }

  /** Runs calls one at a time, in the order they were made. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error('Ullava: this model was disposed; load it again with Ullava.load()'));
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
