// test/ullava/data/collate-tokens.test.ts: the Vicuna v1 template's ids and labels (ullava/data/collate-tokens.ts)
// against hand-checked ids and against LLaVA's preprocess_v1 arithmetic (written here from its description:
// tokenize the whole prompt; split it at "</s>"; per round mask len(tok(instruction)) - 2 tokens after the
// running offset, which starts at 1 for BOS; round length len(tok(round)) counts its BOS for the "</s>").
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { tokenizeRounds, truncateRounds, IGNORE_INDEX, type MediaBlock } from '../../../ullava/data/collate-tokens.js';
import { Conversation } from '../../../ullava/chat/conversation.js';
import type { LlamaTokenizer } from '../../../ullava/tokenizer/llama.js';
import type { ConversationTurn } from '../../../ullava/data/manifest-types.js';
import { ullavaTokenizer } from './helpers.js';

function llavaPreprocessV1(tok: LlamaTokenizer, turns: ConversationTurn[], media: MediaBlock): { ids: number[]; labels: number[] } {
  const conv = new Conversation(media === null ? null : media.kind === 'image' ? { kind: 'image', patches: media.patches } : { kind: 'video', tokens: media.tokens });
  turns.forEach((t, i) => (i % 2 === 0 ? conv.user(t.value) : conv.assistant(t.value)));
  const text = conv.prompt();
  const ids = tok.encode(text, { bos: true });
  const labels = [...ids];
  const sep = ' ASSISTANT: ';
  let cur = 1;
  labels[0] = IGNORE_INDEX;
  for (const rou of text.split('</s>')) {
    if (rou === '') break;
    const parts = rou.split(sep);
    assert.is(parts.length, 2, rou);
    const roundLen = tok.encode(rou, { bos: true }).length;
    const instructionLen = tok.encode(parts[0] + sep, { bos: true }).length - 2;
    for (let k = cur; k < cur + instructionLen; k++) labels[k] = IGNORE_INDEX;
    cur += roundLen;
  }
  for (let k = cur; k < labels.length; k++) labels[k] = IGNORE_INDEX;
  assert.is(cur, ids.length, 'no tokenization mismatch');
  return { ids, labels };
}

const flat = (rs: { ids: number[]; labels: number[] }[]) => ({ ids: rs.flatMap((r) => r.ids), labels: rs.flatMap((r) => r.labels) });

test('one round: only the answer and its </s> are supervised (hand-checked pieces)', async () => {
  const tok = await ullavaTokenizer();
  const [r] = tokenizeRounds(tok, [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Sure. Info: [SEG].' }], null);
  const piece = (p: string) => tok.sp.pieceToId(p);
  // The space before [SEG] goes with it; the text after an added token gets SentencePiece's dummy prefix
  // ("▁.", HF's legacy LLaMA tokenizer, as the official code tokenized).
  const answer = [piece('▁Sure'), piece('.'), piece('▁Info'), piece(':'), 32007, piece('▁.'), 2];
  assert.is(r.ids[0], 1, 'BOS');
  assert.equal(r.ids.slice(-answer.length), answer, 'the answer: ▁Sure . ▁Info : [SEG] ▁. </s>');
  assert.equal(r.labels.slice(-answer.length), answer);
  assert.ok(r.labels.slice(0, -answer.length).every((x) => x === IGNORE_INDEX), 'system, USER: Hi ASSISTANT: masked');
  assert.ok(tok.decode(r.ids.slice(0, -answer.length)).endsWith("questions. USER: Hi ASSISTANT:"), 'the prompt ends with the question');
  assert.equal([r.seg, r.loc], [1, 0]);
});

test('single and multi-round samples, with an image or a video block, match LLaVA\'s preprocess_v1 ids and labels', async () => {
  const tok = await ullavaTokenizer();
  const cases: [ConversationTurn[], MediaBlock][] = [
    [[{ from: 'human', value: '<image>\nWhat is it?' }, { from: 'gpt', value: 'A red square on grey.' }], { kind: 'image', patches: 4 }],
    [[
      { from: 'human', value: '<image> Can you segment and locate the left box in this image?' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]square[/tag].' },
      { from: 'human', value: ' Where is the red one?' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]square[/tag].' },
      { from: 'human', value: ' Find the small box in the picture.' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]box[/tag]. Explanation: it stands out.' },
    ], { kind: 'image', patches: 4 }],
    [[{ from: 'human', value: 'Describe the video.' }, { from: 'gpt', value: 'A dog runs.' }, { from: 'human', value: 'And then?' }, { from: 'gpt', value: 'It stops.' }], { kind: 'video', tokens: 12 }],
    [[{ from: 'human', value: 'Hello there' }, { from: 'gpt', value: 'Hello! How can I help?' }], null],
  ];
  for (const [turns, media] of cases) {
    const ours = flat(tokenizeRounds(tok, turns, media));
    const ref = llavaPreprocessV1(tok, turns, media);
    assert.equal(ours.ids, ref.ids, 'ids');
    assert.equal(ours.labels, ref.labels, 'labels');
  }
});

test('a video block goes at the end of the first question; "<video>" placeholders are removed', async () => {
  const tok = await ullavaTokenizer();
  const [r] = tokenizeRounds(tok, [{ from: 'human', value: '<video>\nWhat happens?' }, { from: 'gpt', value: 'A dog runs.' }], { kind: 'video', tokens: 12 });
  const start = r.ids.indexOf(32005), end = r.ids.indexOf(32006);
  assert.equal([end - start - 1, r.ids.slice(start + 1, end).every((x) => x === 32002)], [12, true]);
  assert.is(tok.decode(r.ids.slice(0, start)).trim().slice(-19), 'USER: What happens?');
  assert.ok(!tok.decode(r.ids).includes('<video>'));
});

test('truncation keeps whole rounds; a first round over max_length is an error naming the line', async () => {
  const tok = await ullavaTokenizer();
  const turns: ConversationTurn[] = [
    { from: 'human', value: '<image>\nSegment the box.' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]box[/tag].' },
    { from: 'human', value: ' Where is the square?' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]square[/tag].' },
    { from: 'human', value: ' Find it.' }, { from: 'gpt', value: 'Sure. Info: [SEG]; [tag]it[/tag].' },
  ];
  const media: MediaBlock = { kind: 'image', patches: 4 };
  const rounds = tokenizeRounds(tok, turns, media);
  const [a, b, c] = rounds.map((r) => r.ids.length);
  assert.equal(truncateRounds(rounds, a + b + c, 'm:1', media).dropped, 0);
  assert.equal(truncateRounds(rounds, a + b + c - 1, 'm:1', media).dropped, 1, 'one token short drops the whole last round');
  const k = truncateRounds(rounds, a + b, 'm:1', media);
  assert.equal([k.kept.length, k.kept.reduce((s, r) => s + r.seg, 0)], [2, 2]);
  assert.equal(truncateRounds(rounds, a, 'm:1', media).kept.length, 1);
  assert.throws(() => truncateRounds(rounds, a - 1, 'data.jsonl:4', media),
    (e: Error) => e.message === `data.jsonl:4: the first round is ${a} tokens (6 of them the image block), over max_length ${a - 1}; raise training.max_length or shorten the first question and answer`);
});
