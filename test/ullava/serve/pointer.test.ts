// A pointer model (config.json "seg_prompt": "pointer") served: its [SEG] points at the image's projected
// features, which a job must keep past the prefill until the masks are decoded; /v1/segment then gives the
// mask UllavaSession gives for the same image and expression.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { mkdtemp, readdir, copyFile, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UllavaSession } from '../../../ullava/session.js';
import { decodePng } from '../../../ullava/media/index.js';
import { FORCED_SEG_PREFIX } from '../../../ullava/chat/conversation.js';
import { loadUllava } from '../../../ullava/models/ullava/load.js';
import { createServer } from '../../../ullava/serve/server.js';
import { tinySafetensorsDir } from '../models/ullava/fixture.js';
import { demoPng, dataUrl, post } from './helpers.js';

test('/v1/segment on a pointer model: the mask UllavaSession gives (the job keeps the image features until its masks)', async () => {
  const src = await tinySafetensorsDir(), dir = await mkdtemp(join(tmpdir(), 'ullava-pointer-serve-'));
  try {
    for (const f of await readdir(src)) await copyFile(join(src, f), join(dir, f));
    const json = JSON.parse(await readFile(join(src, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...json, seg_prompt: 'pointer' }));
    const loaded = await loadUllava(dir, { dtype: 'f32' });
    assert.is(loaded.model.config.segPrompt, 'pointer');
    const { app } = await createServer(loaded, { modelId: 'pointer-test' });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const png = demoPng(), img = decodePng(png, 'demo.png', 1 << 24);
      const r = await post(`${base}/v1/segment`, JSON.stringify({ image: dataUrl(png), prompt: 'the red square', max_tokens: 6 }));
      assert.is(r.status, 200, JSON.stringify(r.json));
      const served = decodePng(Buffer.from(r.json.masks[0].png, 'base64'), 'mask', 1 << 24);
      const session = new UllavaSession(loaded);
      session.setImage(img);
      const a = await session.ask(UllavaSession.segmentationPrompt('the red square'), { maxNewTokens: 6, stop: [], answerPrefix: FORCED_SEG_PREFIX });
      session.dispose();
      assert.is(r.json.answer, a.text);
      const want = Array.from(a.masks[0], (v) => (v > 0 ? 1 : 0));
      const got = Array.from({ length: img.width * img.height }, (_, p) => (served.data[3 * p] > 127 ? 1 : 0));
      assert.equal(got, want, 'the served mask is the session\'s');
    } finally { await app.close(); loaded.model.dispose(); }
  } finally { await rm(dir, { recursive: true, force: true }); }
});
