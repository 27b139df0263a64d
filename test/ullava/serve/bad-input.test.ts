// `ullava serve` under bad input: every kind is answered with a 4xx and an OpenAI-style error object
// (the official client raises its typed error), naming the field, and the server keeps serving: a good
// request after each bad one is answered. Also: the key, a full queue (429 + Retry-After), the time
// limit (504), and a client that disconnects mid-stream (its slot is freed).
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { test } from '../../harness/test.js';
import { encodeRgbPng } from '../../../ullava/media/index.js';
import { startServer, client, demoPng, dataUrl, post, MODEL_ID, type Running } from './helpers.js';
import { requireFfmpeg, ffmpegEncode, videoArgs, indexFrame } from '../media/helpers.js';

const KEY = 'sk-test-key';
let server: Running | undefined;
const srv = async () => (server ??= await startServer({
  apiKey: KEY, maxBatch: 2, maxQueue: 4,
  limits: { maxBodyBytes: 256 * 1024, maxPixels: 200 * 200, maxTokensCap: 32, maxVideoSeconds: 2, videoFrames: 4 },
}));
const tmp = mkdtempSync(join(tmpdir(), 'ullava-serve-bad-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const auth = { authorization: `Bearer ${KEY}` };
const chat = (extra: Record<string, unknown> = {}, content: unknown = 'Hi.') =>
  JSON.stringify({ model: MODEL_ID, max_tokens: 2, messages: [{ role: 'user', content }], ...extra });
const withImage = (url: string) => [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url } }];

/** Asserts a 4xx OpenAI error object, then that a good request still works. */
async function refused(s: Running, r: { status: number; json: any }, status: number, code: string | null, message: RegExp, param?: string): Promise<void> {
  assert.is(r.status, status, JSON.stringify(r.json));
  assert.type(r.json.error, 'object', 'an OpenAI error object');
  assert.match(r.json.error.message, message, JSON.stringify(r.json));
  assert.type(r.json.error.type, 'string');
  if (code !== null) assert.is(r.json.error.code, code);
  if (param !== undefined) assert.is(r.json.error.param, param);
  const ok = await post(`${s.base}/v1/chat/completions`, chat(), auth);
  assert.is(ok.status, 200, 'the server still serves');
}

test('bad input: malformed JSON, an empty body, a wrong content type', async () => {
  const s = await srv();
  await refused(s, await post(`${s.base}/v1/chat/completions`, '{"messages": [', auth), 400, 'invalid_json', /not valid JSON/);
  await refused(s, await post(`${s.base}/v1/chat/completions`, '', auth), 400, 'invalid_json', /empty/);
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat(), { ...auth, 'content-type': 'text/plain' }), 415, 'unsupported_media_type', /application\/json/);
});

test('bad input: an oversized body is 413', async () => {
  const s = await srv();
  const big = chat({}, withImage(dataUrl(new Uint8Array(300 * 1024))));
  await refused(s, await post(`${s.base}/v1/chat/completions`, big, auth), 413, 'body_too_large', /over this server's limit of 262144 bytes/);
});

test('bad input: unknown fields, wrong types, n > 1, roles out of order, a model not served', async () => {
  const s = await srv();
  const url = `${s.base}/v1/chat/completions`;
  await refused(s, await post(url, chat({ frequency_penaltyy: 1 }), auth), 400, 'invalid_request', /unknown field "frequency_penaltyy"/, 'frequency_penaltyy');
  await refused(s, await post(url, chat({}, [{ type: 'text', text: 'x', extra: 1 }]), auth), 400, 'invalid_request', /unknown field "messages\[0\]\.content\[0\]\.extra"/);
  await refused(s, await post(url, chat({ temperature: 'hot' }), auth), 400, 'invalid_request', /temperature must be number/);
  await refused(s, await post(url, chat({ n: 2 }), auth), 400, 'invalid_request', /n must be <= 1/);
  await refused(s, await post(url, JSON.stringify({ messages: [{ role: 'assistant', content: 'x' }] }), auth), 400, 'invalid_value', /role "assistant" where "user" belongs/);
  await refused(s, await post(url, JSON.stringify({ max_tokens: 2 }), auth), 400, 'invalid_request', /missing required field "messages"/);
  await refused(s, await post(url, chat({ model: 'gpt-4o' }), auth), 404, 'model_not_found', /"gpt-4o" is not served here/);
  await refused(s, await post(`${s.base}/v1/nope`, chat(), auth), 404, 'unknown_route', /no route POST \/v1\/nope/);
});

test('bad input: max_tokens over the cap, and over the context length', async () => {
  const s = await srv();
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat({ max_tokens: 33 }), auth), 400, 'max_tokens_too_large', /max_tokens is 33, over this server's cap of 32/, 'max_tokens');
  const long = 'word '.repeat(2100);
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat({}, long), auth), 400, 'context_length_exceeded', /over the model's 2048 positions/);
});

test('bad input: remote URLs, bad base64, bytes that are not an image, too many pixels, two images', async () => {
  const s = await srv();
  const url = `${s.base}/v1/chat/completions`;
  await refused(s, await post(url, chat({}, withImage('https://example.com/cat.png')), auth), 400, 'unsupported_url', /only data: URLs/, 'messages[0].content[1].image_url.url');
  await refused(s, await post(url, chat({}, withImage('data:image/png;base64,@@@notbase64')), auth), 400, 'invalid_base64', /not valid base64/);
  await refused(s, await post(url, chat({}, withImage(dataUrl(new TextEncoder().encode('plain text, not a picture')))), auth), 400, 'invalid_image', /messages\[0\]\.content\[1\]\.image_url\.url: not an image/);
  const huge = encodeRgbPng({ data: new Uint8Array(300 * 300 * 3).fill(90), width: 300, height: 300 });
  await refused(s, await post(url, chat({}, withImage(dataUrl(huge))), auth), 400, 'image_too_large', /300 x 300 .* over the limit/);
  const png = dataUrl(demoPng());
  const two = [...withImage(png), { type: 'image_url', image_url: { url: png } }];
  await refused(s, await post(url, chat({}, two), auth), 400, 'too_many_media', /one image or one video per conversation/);
  await refused(s, await post(`${s.base}/v1/segment`, JSON.stringify({ image: 'data:image/png;base64,AAAA', prompt: 'x' }), auth), 400, 'invalid_image', /^image: /, 'image');
});

test('bad input: a video longer than the limit', async () => {
  requireFfmpeg();
  const s = await srv();
  const { ext, args } = videoArgs();
  const file = join(tmp, `long.${ext}`);
  ffmpegEncode(Array.from({ length: 30 }, (_, i) => indexFrame(i % 20, 16, 12)), file, args, 10); // 3 s at 10 fps
  const content = [{ type: 'text', text: 'What happens?' }, { type: 'video_url', video_url: { url: dataUrl(readFileSync(file), `video/${ext}`) } }];
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat({}, content), auth), 400, 'video_too_long', /lasts 3\.0 s, over this server's limit of 2 s/);
});

test('the API key: missing or wrong is 401 (the client raises AuthenticationError); /health needs none', async () => {
  const s = await srv();
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat()), 401, 'invalid_api_key', /needs an API key/);
  await refused(s, await post(`${s.base}/v1/chat/completions`, chat(), { authorization: 'Bearer sk-wrong' }), 401, 'invalid_api_key', /incorrect API key/);
  const metrics = await fetch(`${s.base}/metrics`);
  assert.is(metrics.status, 401);
  assert.is((await fetch(`${s.base}/health`)).status, 200);
  let err: unknown;
  try { await client(s.base, 'sk-wrong').chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'x' }] }); } catch (e) { err = e; }
  assert.instance(err, OpenAI.AuthenticationError);
  try { await client(s.base, KEY).chat.completions.create({ model: MODEL_ID, max_tokens: 999, messages: [{ role: 'user', content: 'x' }] }); } catch (e) { err = e; }
  assert.instance(err, OpenAI.BadRequestError);
  assert.is((err as InstanceType<typeof OpenAI.BadRequestError>).code, 'max_tokens_too_large');
});

test('load: a full queue answers 429 with Retry-After; the time limit answers 504; both keep serving', async () => {
  const s = await startServer({ maxBatch: 1, maxQueue: 1, timeLimitSec: 600 });
  try {
    const url = `${s.base}/v1/chat/completions`;
    const long = JSON.stringify({ max_tokens: 40, messages: [{ role: 'user', content: 'Go on.' }] });
    const running = post(url, long);
    const queued = post(url, long);
    await new Promise((r) => setTimeout(r, 50));
    const third = await post(url, long);
    assert.is(third.status, 429, JSON.stringify(third.json));
    assert.is(third.json.error.code, 'queue_full');
    assert.ok(Number(third.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.is((await running).status, 200);
    assert.is((await queued).status, 200);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    assert.match(metrics, /ullava_rejected_total\{reason="queue_full"\} 1/);
  } finally { await s.close(); }
  // The queue's media budget: one demo image (128 x 128, 49152 RGB bytes) may wait, a second one may not.
  const m = await startServer({ maxBatch: 1, maxQueue: 8, limits: { maxQueuedMediaBytes: 60_000 } });
  try {
    const url = `${m.base}/v1/chat/completions`;
    const image = JSON.stringify({ max_tokens: 2, messages: [{ role: 'user', content: withImage(dataUrl(demoPng())) }] });
    const running = post(url, JSON.stringify({ max_tokens: 60, messages: [{ role: 'user', content: 'Go on.' }] }));
    await new Promise((r) => setTimeout(r, 100));
    const first = post(url, image);
    await new Promise((r) => setTimeout(r, 300));
    const second = await post(url, image);
    assert.is(second.status, 429, JSON.stringify(second.json));
    assert.match(second.json.error.message, /would pass the 0\.1 MiB limit/);
    assert.is((await first).status, 200);
    assert.is((await running).status, 200);
  } finally { await m.close(); }
  const t = await startServer({ maxBatch: 1, timeLimitSec: 0.3 });
  try {
    const r = await post(`${t.base}/v1/chat/completions`, JSON.stringify({ max_tokens: 1000, messages: [{ role: 'user', content: 'Talk.' }] }));
    assert.is(r.status, 504, JSON.stringify(r.json));
    assert.is(r.json.error.code, 'time_limit');
    assert.is(t.ctx.scheduler.active, 0, 'its slot is free');
  } finally { await t.close(); }
});

test('a client that disconnects mid-stream leaves the batch at once; the others finish', async () => {
  const s = await startServer({ maxBatch: 4 });
  try {
    const url = `${s.base}/v1/chat/completions`;
    const ac = new AbortController();
    const res = await fetch(url, { method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'Tell a long story.' }] }) });
    const other = post(url, JSON.stringify({ max_tokens: 12, messages: [{ role: 'user', content: 'Hi.' }] }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    assert.is((await other).status, 200);
    for (let i = 0; i < 100 && s.ctx.scheduler.active > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(s.ctx.scheduler.active, 0, 'the abandoned sequence left the batch');
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    assert.match(metrics, /ullava_cancelled_total\{reason="client_gone"\} 1/);
  } finally { await s.close(); }
});
