// test/ullava/data/convert/chat.test.ts: LLaVA-Instruct-150K and LLaVA-CC3M-595K chat JSON
// (ullava/data/convert/chat.ts).
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { test } from '../../../harness/test.js';
import { assertRejects } from '../../../harness/assert.js';
import { convertChat } from '../../../../ullava/data/convert/chat.js';
import { tempDir, put, rgbPng, readJsonl } from './fixtures.js';

const instruct = [
  { id: '000000033471', image: '000000033471.jpg', conversations: [
    { from: 'human', value: 'What are the colors of the bus in the image?\n<image>' },
    { from: 'gpt', value: 'The bus in the image is white and red.' },
    { from: 'human', value: 'What feature can be seen on the back of the bus?' },
    { from: 'gpt', value: 'The back of the bus features an advertisement.' },
  ] },
  { id: '000000033471', image: '000000033471.jpg', conversations: [
    { from: 'human', value: '<image>\nDescribe the image.' }, { from: 'gpt', value: 'A bus.' },
  ] },
];

test('LLaVA-Instruct-150K: conversations kept, image under train2017, repeated ids made unique', async () => {
  const root = await tempDir('llava');
  await put(join(root, 'llava_instruct_150k.json'), JSON.stringify(instruct));
  await put(join(root, 'train2017/000000033471.jpg'), rgbPng());
  const out = join(root, 'm.jsonl');
  await convertChat('llava-instruct', { root, out });
  const recs = await readJsonl(out);
  assert.equal(recs[0], { id: 'llava-instruct-000000033471', source: 'llava-instruct', task: 'vqa', image: 'train2017/000000033471.jpg', conversations: instruct[0].conversations });
  assert.is(recs[1].id, 'llava-instruct-000000033471#1');
});

test('CC3M-595K chat.json: task caption, images folder', async () => {
  const root = await tempDir('cc3m');
  const chat = [{ id: 'GCC_train_002582585', image: 'GCC_train_002582585.jpg', conversations: [
    { from: 'human', value: 'Provide a brief description of the given image.\n<image>' },
    { from: 'gpt', value: 'olive oil is a healthy ingredient used liberally .' }] }];
  await put(join(root, 'chat.json'), JSON.stringify(chat));
  await put(join(root, 'images/GCC_train_002582585.jpg'), rgbPng());
  const out = join(root, 'cc3m.jsonl');
  await convertChat('cc3m', { root, out });
  assert.equal(await readJsonl(out), [{ id: 'cc3m-GCC_train_002582585', source: 'cc3m', task: 'caption', image: 'images/GCC_train_002582585.jpg', conversations: chat[0].conversations }]);
});

test('bad items are named by index and id: turn order, placeholder, missing image, broken JSON', async () => {
  const root = await tempDir('llava-bad');
  await put(join(root, 'train2017/000000033471.jpg'), rgbPng());
  const out = join(root, 'm.jsonl');
  const write = (v: unknown) => put(join(root, 'llava_instruct_150k.json'), typeof v === 'string' ? v : JSON.stringify(v));
  await write([{ ...instruct[1], conversations: [instruct[1].conversations[1], instruct[1].conversations[0]] }]);
  await assertRejects(() => convertChat('llava-instruct', { root, out }), /item 0 \(id 000000033471\): "conversations\[0\]\.from" must be "human"/);
  await write([{ ...instruct[1], conversations: [{ from: 'human', value: 'no placeholder' }, { from: 'gpt', value: 'x' }] }]);
  await assertRejects(() => convertChat('llava-instruct', { root, out }), /item 0 \(id 000000033471\): "conversations\[0\]\.value" must be a human turn holding the one "<image>"/);
  await write([{ ...instruct[1], image: 'nope.jpg' }]);
  await assertRejects(() => convertChat('llava-instruct', { root, out }), /item 0 \(id 000000033471\): image .*nope\.jpg does not exist/);
  await write('[{"id": "1", "ima');
  await assertRejects(() => convertChat('llava-instruct', { root, out }), /llava_instruct_150k\.json: the llava-instruct conversations JSON is not valid JSON/);
});
