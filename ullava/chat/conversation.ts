// The conversation template u-LLaVA uses at inference (its conv_sep2, Vicuna v1 style) with multi-turn
// history, and the media placeholders spliced into the first user turn as the official code does.

export const SYSTEM_PROMPT = 'A chat between a curious human and an artificial intelligence assistant. ' +
  "The assistant gives helpful, detailed, and polite answers to the human's questions.";

export const TOKENS = {
  image: '<image>', imagePatch: '<image_patch>', imageStart: '<img_beg>', imageEnd: '</img_end>',
  videoPatch: '<video_patch>', videoStart: '<vid_beg>', videoEnd: '</vid_end>',
  seg: '[SEG]', loc: '[LOC]', tagStart: '[tag]', tagEnd: '[/tag]',
} as const;

/** 256 patches at 224 px (ViT-L/14: 16 x 16); 576 at 336. */
export const IMAGE_TOKENS_224 = 256;
/** T temporal + 256 spatial tokens for T = 8 frames. */
export const VIDEO_TOKENS_8 = 8 + 256;

export function imageSpan(patches = IMAGE_TOKENS_224): string {
  return TOKENS.imageStart + TOKENS.imagePatch.repeat(patches) + TOKENS.imageEnd;
}

export function videoSpan(tokens = VIDEO_TOKENS_8): string {
  return TOKENS.videoStart + TOKENS.videoPatch.repeat(tokens) + TOKENS.videoEnd;
}

export type Media = { kind: 'image'; patches?: number } | { kind: 'video'; tokens?: number } | null;

type Role = 'USER' | 'ASSISTANT';

/**
 * A multi-turn chat. The prompt is `system + " " + "USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT:"`.
 * An image goes first in the first user turn ("<image>\n" + text, the placeholder expanded to
 * <img_beg> + patches + </img_end>); a video span is appended to the end of the first user turn.
 */
export class Conversation {
  readonly sep = ' ';
  readonly sep2 = '</s>';
  private messages: [Role, string][] = [];
  constructor(public media: Media = null, readonly system = SYSTEM_PROMPT) {}

  get turns(): number { return this.messages.length; }

  /** Adds a user message; the media span is attached to the first one. */
  user(text: string): this {
    if (this.messages.length && this.messages[this.messages.length - 1][0] === 'USER') {
      throw new Error('Conversation: two user messages in a row; add the assistant answer first');
    }
    let t = text;
    if (this.messages.length === 0 && this.media) {
      if (this.media.kind === 'image') {
        // The official code strips any <image> the user typed and puts it first.
        t = `${TOKENS.image}\n${t.replaceAll(TOKENS.image, '').trim()}`.trim();
        t = t.replace(TOKENS.image, imageSpan(this.media.patches));
      } else {
        t = t + videoSpan(this.media.tokens);
      }
    }
    this.messages.push(['USER', t]);
    return this;
  }

  /** Records the assistant's answer (the text generated, without the trailing </s>). */
  assistant(text: string): this {
    if (this.messages.length === 0 || this.messages[this.messages.length - 1][0] !== 'USER') {
      throw new Error('Conversation: an assistant message must follow a user message');
    }
    this.messages.push(['ASSISTANT', text]);
    return this;
  }

  /** Takes back the last user message (when answering it failed). */
  popUser(): void {
    if (this.messages.length && this.messages[this.messages.length - 1][0] === 'USER') this.messages.pop();
  }

  /** The prompt to generate the next assistant message from (ends with "ASSISTANT:"). */
  prompt(): string {
    let out = this.system + this.sep;
    this.messages.forEach(([role, text], i) => { out += `${role}: ${text}${i % 2 === 0 ? this.sep : this.sep2}`; });
    if (this.messages.length % 2 === 1) out += 'ASSISTANT:';
    return out;
  }

  /** Forgets the history (keeps the media unless replaced). */
  reset(media: Media = this.media): this {
    this.messages = [];
    this.media = media;
    return this;
  }
}

/** The validation prompt of the RES evaluation. */
export function segmentationPrompt(sentence: string): string {
  return `Output the segmentation mask of the ${sentence} in the image.`;
}

/** The RES question for a referring expression: the template says "the {TEXT}", so a leading article is dropped. */
export function segmentationQuestion(expression: string): string {
  return segmentationPrompt(expression.trim().replace(/^the\s+/i, ''));
}

/** The published checkpoint's answer to a RES prompt begins so; forcing it guarantees a [SEG] (and a mask). */
export const FORCED_SEG_PREFIX = 'Sure. Info: [SEG]';
/** The same for checkpoints with the [LOC] box decoder (HEAD's answer format). */
export const FORCED_SEG_LOC_PREFIX = 'Sure. Mask: [SEG]; Location: [LOC]';

/** The question a video caption asks by default. */
export const DEFAULT_CAPTION_PROMPT = 'Describe the video in detail.';
