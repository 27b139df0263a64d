// The programmatic u-LLaVA: load a model directory once, then chat about an image, a video or nothing,
// segment and ground referring expressions, caption videos. Each call is self-contained (its turns and
// media are given in full); the image's or video's encoded features are kept between calls while the
// same media comes back, so a multi-turn chat or several prompts about one image encode it only once.
// Calls on one model run one after another (a queue), as they share the model's KV cache and features.
import { loadUllava, type LoadedUllava } from '../models/ullava/load.js';
import { UllavaSession, type Answer } from '../session.js';
import type { GenerateOptions } from '../chat/generate.js';
import { DEFAULT_CAPTION_PROMPT, FORCED_SEG_LOC_PREFIX, FORCED_SEG_PREFIX, segmentationQuestion } from '../chat/conversation.js';
import type { RgbImage } from '../media/index.js';
import { ensureDefaultModel, DEFAULT_MODEL_DTYPE } from './default-model.js';
import { readImage, readVideo, type ImageInput, type VideoInput } from './inputs.js';
import { answerMasks } from './masks.js';
import type {
  LoadOptions, GenerationOptions, ChatTurn, ChatOptions, LocateOptions, CaptionOptions, Reply, LocateResult,
} from './types.js';

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

  /** `dir`: the model directory loaded; `demo`: true when it is the built-in default (load() without a directory). */
  private constructor(private readonly loaded: LoadedUllava, readonly dir: string, readonly demo: boolean) {
    this.session = new UllavaSession(loaded);
  }

  /**
   * Loads a u-LLaVA model directory (config.json, the weights, tokenizer.model, added_tokens.json, as
   * published on the Hugging Face hub). Without a directory: the built-in shapes-world model shipped in the
   * package's models/shapes (trained from scratch on the procedural shapes world; it knows only that
   * world), in f32 unless `dtype` says otherwise; `demo` is then true. A missing or incomplete built-in
   * model is refused with a DefaultModelMissingError that says what is missing and how to get it.
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
      return this.details(await this.session.ask(all[all.length - 1].content, { ...generateOptions(o, 512), answerPrefix: o.answerPrefix }));
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
      return this.details(await this.session.ask(prompt, generateOptions(o, 256)));
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
