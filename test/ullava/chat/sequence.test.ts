// Continuous batching (chat/sequence.ts over LlamaForCausalLM.decodeRows): sequences that join a running
// batch at different steps, each with its own KV cache at its own length, give exactly the tokens that
// generate() gives each prompt alone; one batched decode step's logits equal each cache's own forward.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { assertClose } from '../../harness/assert.js';
import * as E from '../../../engine/index.js';
import { loadUllava, type LoadedUllava } from '../../../ullava/models/ullava/load.js';
import { generate, type Prompt, type Generation } from '../../../ullava/chat/generate.js';
import { GenerationSequence } from '../../../ullava/chat/sequence.js';
import { KVCache } from '../../../ullava/models/llama/kv-cache.js';
import { Conversation } from '../../../ullava/chat/conversation.js';
import { tinySafetensorsDir } from '../models/ullava/fixture.js';

let shared: Promise<LoadedUllava> | undefined;
const model = () => (shared ??= tinySafetensorsDir().then((d) => loadUllava(d, { dtype: 'f32' })));

function textPrompt(l: LoadedUllava, q: string): Prompt {
  return { ids: l.tokenizer.encode(new Conversation(null).user(q).prompt(), { bos: true }) };
}

test('decodeRows: one step over three caches of different lengths equals each cache stepped alone', async () => {
  const l = await model();
  const lm = l.model.lm;
  const dev = lm.model.embed_tokens.weight.device;
  const lens = [5, 11, 8];
  const prefill = (n: number) => {
    const c = new KVCache(l.config.llm, { batch: 1, maxLength: n + 1, device: dev });
    const ids = E.Tensor.fromHost(Int32Array.from({ length: n }, (_, i) => 100 + 37 * i + n), [1, n], 'i32', dev);
    E.noGrad(() => lm.forward({ inputIds: ids, kvCache: c, lastLogitsOnly: true })).logits.dispose();
    ids.dispose();
    return c;
  };
  const next = [7, 900, 31000];
  const batched = lens.map(prefill);
  const ids = E.Tensor.fromHost(Int32Array.from(next), [3, 1], 'i32', dev);
  const out = E.noGrad(() => lm.decodeRows(ids, batched));
  const got = (await out.logits.toArray()) as Float32Array;
  const V = got.length / 3;
  for (let b = 0; b < 3; b++) {
    const c = prefill(lens[b]);
    const one = E.Tensor.fromHost(Int32Array.of(next[b]), [1, 1], 'i32', dev);
    const r = E.noGrad(() => lm.forward({ inputIds: one, kvCache: c, lastLogitsOnly: true }));
    assertClose(got.subarray(b * V, (b + 1) * V), (await r.logits.toArray()) as Float32Array, { atol: 1e-4, rtol: 1e-4, message: `row ${b}` });
    assert.is(batched[b].length, lens[b] + 1, `cache ${b} advanced by one`);
    r.logits.dispose(); r.hidden.dispose(); one.dispose(); c.dispose();
  }
  out.logits.dispose(); out.hidden.dispose(); ids.dispose();
  for (const c of batched) c.dispose();
});

test('continuous batching: sequences joining at steps 0, 2 and 3 give the tokens each gives alone', async () => {
  const l = await model();
  const prompts = ['Hi.', 'What is a square, in a few words?', 'Name three colours.'].map((q) => textPrompt(l, q));
  const o = { maxNewTokens: 6, stop: [] as string[] };
  const alone: Generation[] = [];
  for (const p of prompts) alone.push((await generate(l.model, l.tokenizer, [p], o))[0]);
  const streamed = ['', '', ''];
  const seqs = prompts.map((p, i) => new GenerationSequence(l.model, l.tokenizer, p, { ...o, onText: (s) => { streamed[i] += s; } }));
  const joinAt = [0, 2, 3];
  const running: GenerationSequence[] = [];
  for (let step = 0; seqs.some((s) => !s.done); step++) {
    for (let i = 0; i < 3; i++) if (joinAt[i] === step) { await GenerationSequence.accept([seqs[i]], seqs[i].prefill()); running.push(seqs[i]); }
    const live = running.filter((s) => !s.done);
    if (live.length) await GenerationSequence.accept(live, GenerationSequence.decode(l.model, live));
    assert.ok(step < 50, 'finishes');
  }
  seqs.forEach((s, i) => {
    const g = s.result();
    assert.equal(g.ids, alone[i].ids, `sequence ${i} tokens`);
    assert.is(g.text, alone[i].text, `sequence ${i} text`);
    assert.is(streamed[i], alone[i].text, `sequence ${i} stream`);
    assert.is(g.finishReason, alone[i].finishReason);
    s.dispose();
  });
});
