// JSON schemas of the request bodies, checked by fastify (Ajv) before a handler runs: unknown fields,
// wrong types and out-of-range values are refused with a 400 naming the field. Ajv is configured in
// server.ts not to coerce types nor drop unknown properties, so what the schema says is what is enforced.

const url = { type: 'object', additionalProperties: false, required: ['url'],
  properties: { url: { type: 'string', minLength: 1 }, detail: { type: 'string', enum: ['auto', 'low', 'high'] } } } as const;

/** One part of a message's content: text, an image (data: URL) or a video (data: URL, this server's extension). */
const contentPart = {
  type: 'object', additionalProperties: false, required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'image_url', 'video_url'] },
    text: { type: 'string' },
    image_url: url,
    video_url: url,
  },
} as const;

const message = {
  type: 'object', additionalProperties: false, required: ['role', 'content'],
  properties: {
    role: { type: 'string', enum: ['system', 'user', 'assistant'] },
    // One type keyword (not anyOf), so that Ajv's report names the failing field inside the parts.
    content: { type: ['string', 'array'], minItems: 1, maxItems: 16, items: contentPart },
    name: { type: 'string', maxLength: 64 },
  },
} as const;

const maskFormat = { type: 'string', enum: ['png', 'rle'] } as const;

export const chatCompletionBody = {
  type: 'object', additionalProperties: false, required: ['messages'],
  properties: {
    model: { type: 'string' },
    messages: { type: 'array', minItems: 1, maxItems: 64, items: message },
    stream: { type: 'boolean' },
    stream_options: { type: 'object', additionalProperties: false, properties: { include_usage: { type: 'boolean' } } },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    max_tokens: { type: 'integer', minimum: 1 },
    max_completion_tokens: { type: 'integer', minimum: 1 },
    seed: { type: 'integer' },
    stop: { type: ['string', 'array', 'null'], minLength: 1, maxItems: 4, items: { type: 'string', minLength: 1 } },
    n: { type: 'integer', minimum: 1, maximum: 1 },
    user: { type: 'string' },
    // Extensions (u-LLaVA): how masks come back, and the sampler's other knobs.
    mask_format: maskFormat,
    /** The answer starts with this text and continues from it (e.g. "Sure. Info: [SEG]" to always get a mask). */
    answer_prefix: { type: 'string', minLength: 1, maxLength: 500 },
    top_k: { type: 'integer', minimum: 0 },
    repetition_penalty: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

export const segmentBody = {
  type: 'object', additionalProperties: false, required: ['image', 'prompt'],
  properties: {
    model: { type: 'string' },
    /** The image as a data: URL. */
    image: { type: 'string', minLength: 1 },
    /** What to segment: "the red square". */
    prompt: { type: 'string', minLength: 1, maxLength: 2000 },
    max_tokens: { type: 'integer', minimum: 1 },
    seed: { type: 'integer' },
    mask_format: maskFormat,
    /** Begin the answer with "Sure. Info: [SEG]" so that there is always a mask (default true). */
    force_seg: { type: 'boolean' },
  },
} as const;

export type ContentPart = { type: 'text'; text?: string } | { type: 'image_url'; image_url?: { url: string } } | { type: 'video_url'; video_url?: { url: string } };
export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string | ContentPart[]; name?: string }
export interface ChatCompletionRequest {
  model?: string; messages: ChatMessage[]; stream?: boolean; stream_options?: { include_usage?: boolean };
  temperature?: number; top_p?: number; max_tokens?: number; max_completion_tokens?: number; seed?: number;
  stop?: string | string[] | null; n?: number; user?: string; mask_format?: 'png' | 'rle'; answer_prefix?: string; top_k?: number; repetition_penalty?: number;
}
export interface SegmentRequest {
  model?: string; image: string; prompt: string; max_tokens?: number; seed?: number; mask_format?: 'png' | 'rle'; force_seg?: boolean;
}
