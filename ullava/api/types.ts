// The options and results of the programmatic API (api/ullava.ts), in one place a user can read.
import type { DType } from '../../engine/index.js';
import type { FinishReason } from '../chat/generate.js';
import type { Box } from '../media/index.js';
import type { ImageInput, VideoInput } from './inputs.js';
import type { Mask } from './masks.js';
import type { Answer } from '../session.js';

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

/** What every answer reports besides its text: the session's answer, with masks as 0/1 pixels instead of logits. */
export interface AnswerDetails extends Omit<Answer, 'text' | 'masks'> {
  /** One per [SEG] of the answer (answers about an image only), at the image's size. */
  masks: Mask[];
}

export interface Reply extends AnswerDetails { text: string }

export interface LocateResult extends AnswerDetails { question: string; answer: string }
