// `ullava serve` used through the official OpenAI client on the tiny random model: plain, streamed, with
// an image and with a video; the answers are the library's own (UllavaSession, generate) for the same
// input, so the server adds nothing and loses nothing; concurrent requests are batched (continuous
// batching) and still give each its own answer; /v1/segment and the masks in a chat answer decode to
// masks at the image's size whose area and box match their pixels.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { UllavaSession } from '../../../ullava/session.js';
import { decodePng } from '../../../ullava/media/index.js';
import { FORCED_SEG_PREFIX, segmentationQuestion } from '../../../ullava/chat/conversation.js';
import { startServer, client, tinyModel, demoPng, dataUrl, post, MODEL_ID, type Running } from './helpers.js';
import { requireFfmpeg, ffmpegEncode, videoArgs, indexFrame } from '../media/helpers.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: Running | undefined;
const srv = async () => (server ??= await startServer({ maxBatch: 4 }));
const tmp = mkdtempSync(join(tmpdir(), 'ullava-serve-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('openai client: models list and a plain completion with usage counts', async () => {
  const s = await srv();
  const oa = client(s.base);
  const models = await oa.models.list();
  assert.equal(models.data.map((m) => m.id), [MODEL_ID]);
  const r = await oa.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hello there.' }], max_tokens: 6 });
  assert.is(r.object, 'chat.completion');
  assert.is(r.choices.length, 1);
  assert.is(r.choices[0].message.role, 'assistant');
  assert.type(r.choices[0].message.content, 'string');
  const l = await tinyModel();
  // The prompt is the conversation template around the question, counted by the model's tokenizer.
  const session = new UllavaSession(l);
  session.conversation.user('Hello there.');
  const expected = l.tokenizer.encode(session.conversation.prompt(), { bos: true }).length;
  session.dispose();
  assert.is(r.usage!.prompt_tokens, expected, 'prompt tokens');
  assert.ok(r.usage!.completion_tokens >= 1 && r.usage!.completion_tokens <= 6, 'completion tokens within max_tokens');
  assert.is(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  if (r.choices[0].finish_reason === 'length') assert.is(r.usage!.completion_tokens, 6);
});

test('openai client: a streamed answer is the plain answer, chunk by chunk, ending with usage', async () => {
  const s = await srv();
  const oa = client(s.base);
  const messages = [{ role: 'user' as const, content: 'Count to three.' }];
  const plain = await oa.chat.completions.create({ messages, model: MODEL_ID, max_tokens: 8 });
  const stream = await oa.chat.completions.create({ messages, model: MODEL_ID, max_tokens: 8, stream: true, stream_options: { include_usage: true } });
  let text = '', chunks = 0, finish: string | null = null, usage: unknown = null;
  for await (const c of stream) {
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    text += c.choices[0].delta.content ?? '';
    chunks++;
    finish = c.choices[0].finish_reason ?? finish;
  }
  assert.is(text, plain.choices[0].message.content);
  assert.ok(chunks >= 3, `several chunks (${chunks})`);
  assert.is(finish, plain.choices[0].finish_reason);
  assert.equal(usage, plain.usage);
});

test('openai client: an image (data: URL) gets the answer UllavaSession gives for it', async () => {
  const s = await srv();
  const oa = client(s.base);
  const png = demoPng();
  const r = await oa.chat.completions.create({ model: MODEL_ID, max_tokens: 8, messages: [{ role: 'user', content: [
    { type: 'text', text: 'What is in the image?' }, { type: 'image_url', image_url: { url: dataUrl(png) } }] }] });
  const l = await tinyModel();
  const session = new UllavaSession(l);
  session.setImage(decodePng(png, 'demo.png', 1 << 24));
  const a = await session.ask('What is in the image?', { maxNewTokens: 8 });
  session.dispose();
  assert.is(r.choices[0].message.content, a.text);
  assert.ok(r.usage!.prompt_tokens > 256, 'the 256 image tokens are counted');
});

test('openai client: a multi-turn history is the session\'s multi-turn prompt', async () => {
  const s = await srv();
  const oa = client(s.base);
  const l = await tinyModel();
  const session = new UllavaSession(l);
  const first = await session.ask('Hi.', { maxNewTokens: 4 });
  const second = await session.ask('And then?', { maxNewTokens: 5 });
  session.dispose();
  const r = await oa.chat.completions.create({ model: MODEL_ID, max_tokens: 5, messages: [
    { role: 'user', content: 'Hi.' }, { role: 'assistant', content: first.text }, { role: 'user', content: 'And then?' }] });
  assert.is(r.choices[0].message.content, second.text);
});

test('openai client: a video (video_url data: URL) is answered with its frames\' tokens', async () => {
  requireFfmpeg();
  const s = await srv();
  const { ext, args } = videoArgs();
  const file = join(tmp, `clip.${ext}`);
  ffmpegEncode(Array.from({ length: 10 }, (_, i) => indexFrame(i, 32, 24)), file, args);
  const oa = client(s.base);
  const r = await oa.chat.completions.create({ model: MODEL_ID, max_tokens: 4, messages: [{ role: 'user', content: [
    { type: 'text', text: 'Describe the video.' },
    // video_url is this server's extension of the content parts.
    { type: 'video_url', video_url: { url: dataUrl(readFileSync(file), `video/${ext}`) } } as never] }] });
  assert.type(r.choices[0].message.content, 'string');
  assert.ok(r.usage!.prompt_tokens > 8 + 256, `8 frame tokens + 256 patch tokens counted (${r.usage!.prompt_tokens})`);
});

test('continuous batching: six requests at once share decode steps and each gets its own answer', async () => {
  const s = await srv();
  const oa = client(s.base);
  const questions = ['One?', 'Two, please.', 'What is three?', 'Four.', 'Is five odd?', 'Six or seven?'];
  const alone: string[] = [];
  for (const q of questions) alone.push((await oa.chat.completions.create({ model: MODEL_ID, max_tokens: 10, messages: [{ role: 'user', content: q }] })).choices[0].message.content!);
  const steps0 = s.ctx.scheduler.stats.steps;
  s.ctx.scheduler.stats.maxRunning = 0;
  const together = await Promise.all(questions.map((q) => oa.chat.completions.create({ model: MODEL_ID, max_tokens: 10, messages: [{ role: 'user', content: q }] })));
  assert.equal(together.map((r) => r.choices[0].message.content), alone);
  assert.is(s.ctx.scheduler.stats.maxRunning, 4, 'the batch filled up to --max-batch 4');
  const steps = s.ctx.scheduler.stats.steps - steps0;
  const tokens = together.reduce((n, r) => n + r.usage!.completion_tokens, 0);
  assert.ok(steps < tokens, `fewer decode steps (${steps}) than tokens (${tokens}): sequences were decoded together`);
});

test('/v1/segment: masks (PNG) at the image\'s size, area and box from their pixels; RLE agrees', async () => {
  const s = await srv();
  const png = demoPng();
  const img = decodePng(png, 'demo.png', 1 << 24);
  const r = await post(`${s.base}/v1/segment`, JSON.stringify({ image: dataUrl(png), prompt: 'the red square', max_tokens: 6 }));
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is(r.json.question, segmentationQuestion('the red square'));
  assert.ok(r.json.answer.startsWith(FORCED_SEG_PREFIX.replace(' [SEG]', '')), r.json.answer);
  assert.ok(r.json.masks.length >= 1);
  const m = r.json.masks[0];
  assert.equal([m.width, m.height], [img.width, img.height]);
  const mask = decodePng(Buffer.from(m.png, 'base64'), 'mask', 1 << 24);
  assert.equal([mask.width, mask.height], [img.width, img.height]);
  let area = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) for (let x = 0; x < mask.width; x++) {
    if (mask.data[(y * mask.width + x) * 3]) { area++; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  }
  assert.is(m.area, area);
  assert.equal(m.box, area ? [x0, y0, x1, y1] : null);
  assert.equal(r.json.boxes[0], { index: 0, box: m.box, source: 'mask' });
  const rle = await post(`${s.base}/v1/segment`, JSON.stringify({ image: dataUrl(png), prompt: 'the red square', max_tokens: 6, mask_format: 'rle' }));
  const k = rle.json.masks[0];
  assert.equal(k.rle.size, [img.height, img.width]);
  assert.is(k.rle.counts.reduce((a: number, b: number) => a + b, 0), img.width * img.height, 'runs cover the image');
  assert.is(k.rle.counts.filter((_: number, i: number) => i % 2 === 1).reduce((a: number, b: number) => a + b, 0), area, 'odd runs are the mask');
});

test('chat: an answer with [SEG] carries its masks on the message (plain) and on the last chunk (stream)', async () => {
  const s = await srv();
  const oa = client(s.base);
  const png = demoPng();
  // The random model writes [SEG] only when its answer is made to start with it (answer_prefix, an extension).
  const body = { model: MODEL_ID, max_tokens: 3, answer_prefix: FORCED_SEG_PREFIX, messages: [{ role: 'user' as const, content: [
    { type: 'text' as const, text: 'Where is the square?' }, { type: 'image_url' as const, image_url: { url: dataUrl(png) } }] }] };
  const plain = await oa.chat.completions.create(body as never) as any;
  const msg = plain.choices[0].message;
  assert.ok(msg.content.startsWith('Sure. Info:'), msg.content);
  assert.is(msg.masks.length, 1);
  const image = decodePng(png, 'docs/demo.png', 1 << 24);
  assert.equal([msg.masks[0].width, msg.masks[0].height], [image.width, image.height], 'the mask is at the image\'s size');
  assert.type(msg.masks[0].png, 'string');
  assert.is(msg.boxes[0].box === null ? null : msg.boxes[0].box.length, msg.masks[0].box === null ? null : 4);
  const stream = await oa.chat.completions.create({ ...body, stream: true } as never) as any;
  let text = '', last: any = null;
  for await (const c of stream) { text += c.choices[0]?.delta.content ?? ''; if (c.choices[0]?.finish_reason) last = c.choices[0]; }
  assert.is(text, msg.content);
  assert.equal(last.delta.masks, msg.masks);
  assert.equal(last.delta.boxes, msg.boxes);
  const none = await oa.chat.completions.create({ model: MODEL_ID, max_tokens: 3, messages: [{ role: 'user', content: 'Hi.' }] }) as any;
  assert.is(none.choices[0].message.masks, undefined, 'no [SEG], no masks field');
});
