// The questions and answers of the shapes world. The first RES question is the one `ullava segment` and
// `Ullava.segment` ask (segmentationQuestion), so the trained model answers what the CLI asks; the others
// are variants in the style of the official prompt pools. Answers follow the published checkpoint's format.
import { DEFAULT_CAPTION_PROMPT, segmentationQuestion } from '../../chat/conversation.js';
import type { Rng } from './random.js';

const strip = (e: string) => e.trim().replace(/^the\s+/i, '');

/** RES / grounding questions; the CLI's own wording half of the time. */
export function segmentQuestion(expression: string, rng: Rng): string {
  if (rng.chance(0.5)) return segmentationQuestion(expression);
  const e = strip(expression);
  return rng.pick([
    `Please segment the ${e} in this image.`,
    `Can you segment the ${e} in this image?`,
    `What is the ${e} in this image? Please output the segmentation mask.`,
    `Segment out the ${e}.`,
    `Output the mask of the ${e}.`,
    `Find the ${e} in the picture.`,
  ]);
}

export function groundQuestion(expression: string, rng: Rng): string {
  if (rng.chance(0.5)) return segmentationQuestion(expression);
  const e = strip(expression);
  return rng.pick([`Where is the ${e}? Output its mask.`, `Locate the ${e} in the image.`, `Please find the ${e} and output its mask.`]);
}

/** The published answer: one [SEG] per target, its category in [tag]. */
export function segAnswer(category: string, explanation?: string): string {
  return `Sure. Info: [SEG]; [tag]${category}[/tag].${explanation ? ` Explanation: ${explanation}` : ''}`;
}

export function salientQuestion(rng: Rng): string {
  return rng.pick([
    'What is salient one in this image?', 'What makes the image stand out?',
    'Look at the image, segment the main object in the picture and explain.', 'Segment the odd one out in this image.',
  ]);
}

export function captionQuestion(rng: Rng): string {
  return rng.pick(['Describe the image briefly.', 'Write a short caption for the image.', 'What is in this picture?', 'Describe the image.']);
}

export function videoCaptionQuestion(rng: Rng): string {
  return rng.pick([DEFAULT_CAPTION_PROMPT, 'Describe the video concisely.', "What's happening in this video?"]);
}

/** The first human turn carries the media placeholder. */
export function withMedia(question: string, media: 'image' | 'video'): string {
  return `<${media}>\n${question}`;
}
