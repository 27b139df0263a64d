// What one server accepts, with the defaults `ullava serve` uses. Every limit answers with a 4xx naming it.
import type { MediaLimits } from './media.js';

export interface ServeLimits extends MediaLimits {
  /** Largest request body, bytes (images and videos arrive base64 inside it). */
  maxBodyBytes: number;
  /** Largest max_tokens a request may ask for. */
  maxTokensCap: number;
  /** max_tokens when a chat request gives none. */
  defaultMaxTokens: number;
  /** Decoded images and video frames (RGB bytes) that may wait in the queue at once. */
  maxQueuedMediaBytes: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxPixels: 4096 * 4096,
  maxVideoSeconds: 120,
  videoFrames: 8,
  maxTokensCap: 1024,
  defaultMaxTokens: 256,
  maxQueuedMediaBytes: 1024 * 1024 * 1024,
};
