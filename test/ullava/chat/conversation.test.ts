import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { Conversation, SYSTEM_PROMPT, imageSpan, segmentationPrompt } from '../../../ullava/chat/conversation.js';
import { loadUllavaTokenizer } from '../tokenizer/reference.js';

test('conversation: the Vicuna v1 prompt with the image span first, multi-turn history', () => {
  const c = new Conversation({ kind: 'image' });
  c.user('What is in the image?');
  assert.equal(c.prompt(), `${SYSTEM_PROMPT} USER: ${imageSpan()}\nWhat is in the image? ASSISTANT:`);
  c.assistant('A dog.');
  c.user('<image> Where is it?');
  assert.equal(c.prompt(), `${SYSTEM_PROMPT} USER: ${imageSpan()}\nWhat is in the image? ASSISTANT: A dog.</s>USER: <image> Where is it? ASSISTANT:`);
  c.reset();
  c.user('Again');
  assert.ok(c.prompt().endsWith(`USER: ${imageSpan()}\nAgain ASSISTANT:`));
  let msg = '';
  try { c.user('twice'); } catch (e) { msg = (e as Error).message; }
  assert.ok(/two user messages in a row/.test(msg));
});

test('conversation: video span appended to the first user turn; text-only chat has no span', () => {
  const v = new Conversation({ kind: 'video' }).user('Describe the video.');
  assert.ok(v.prompt().endsWith(`USER: Describe the video.<vid_beg>${'<video_patch>'.repeat(264)}</vid_end> ASSISTANT:`));
  assert.equal(new Conversation().user('Hi').prompt(), `${SYSTEM_PROMPT} USER: Hi ASSISTANT:`);
});

test('conversation: tokenised as the official code does (span lengths and ids)', async () => {
  const tok = await loadUllavaTokenizer();
  const c = new Conversation({ kind: 'image' }).user(segmentationPrompt('man in red'));
  const ids = tok.encode(c.prompt(), { bos: true });
  assert.equal(ids[0], 1);
  const beg = ids.indexOf(32003), end = ids.indexOf(32004);
  assert.ok(beg > 0 && end === beg + 257, `image span ${beg}..${end}`);
  assert.ok(ids.slice(beg + 1, end).every((i) => i === 32001), 'all 256 patches are <image_patch>');
  // The text before the span ends with "USER:" and the text after starts on a new line.
  assert.equal(tok.decode(ids.slice(0, beg), { skipSpecial: true }).endsWith('USER:'), true);
  // HF 4.29's slow tokenizer strips whitespace on both sides of added tokens given as plain strings
  // (added_tokens.json), so the "\n" after </img_end> is dropped and the text restarts with "▁Output".
  assert.equal(tok.sp.idToPiece(ids[end + 1]), '▁Output');
  assert.equal(tok.decode(ids.slice(end + 1)), 'Output the segmentation mask of the man in red in the image. ASSISTANT:');
  const v = tok.encode(new Conversation({ kind: 'video' }).user('Describe.').prompt(), { bos: true });
  assert.equal(v.filter((i) => i === 32002).length, 264);
});
