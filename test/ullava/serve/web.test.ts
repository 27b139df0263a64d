// The web page at / in a real browser (headless Chromium through playwright-core): pick docs/demo.png,
// ask with "always give a mask", see the answer arrive in several streamed chunks and equal the API's
// answer to the same request, the mask drawn as a coloured overlay that toggles off and on, a download
// link holding the mask PNG, then a second turn that carries the first as history. A screenshot is kept
// in test-artifacts/serve-web.png. Skips (with the reason) where no Chromium is installed.
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test, skip } from '../../harness/test.js';
import { startServer, demoPng, dataUrl, post, REPO } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

test('web page: upload an image, a streamed answer, its mask as a toggled overlay, a second turn', async () => {
  if (!CHROMIUM) skip('no Chromium here (apt-get install chromium, or set CHROMIUM_PATH); scripts/setup.sh installs it');
  const { chromium } = await import('playwright-core');
  const s = await startServer({ maxBatch: 2 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(s.base);
    await page.waitForFunction(() => document.getElementById('model')!.textContent!.includes('model:'));
    await page.setInputFiles('#file', join(REPO, 'docs', 'demo.png'));
    await page.waitForFunction(() => !(document.getElementById('stage') as HTMLElement).hidden && (document.getElementById('image') as HTMLImageElement).naturalWidth > 0);
    await page.check('#force-seg');
    await page.fill('#max-tokens', '6');
    await page.fill('#question', 'Where is the red square?');
    await page.click('#send');
    await page.waitForSelector('.msg.assistant[data-done="true"]', { timeout: 5 * 60_000 });
    const shown = await page.$eval('.msg.assistant', (e) => ({ text: e.textContent, chunks: Number((e as HTMLElement).dataset.chunks) }));
    // The same request through the API (greedy: the same answer).
    const api = await post(`${s.base}/v1/chat/completions`, JSON.stringify({ max_tokens: 6, answer_prefix: 'Sure. Info: [SEG]', messages: [{ role: 'user', content: [
      { type: 'text', text: 'Where is the red square?' }, { type: 'image_url', image_url: { url: dataUrl(demoPng()) } }] }] }));
    assert.is(shown.text, api.json.choices[0].message.content);
    assert.ok(shown.chunks >= 2, `streamed in chunks (${shown.chunks})`);
    // The overlay: one canvas per mask, tinted where the API's mask is on.
    await page.waitForSelector('#masks li.mask-item');
    assert.is(await page.locator('#masks li.mask-item').count(), api.json.choices[0].message.masks.length);
    const tinted = await page.$eval('#overlays canvas', (c) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
      let n = 0; for (let p = 3; p < d.length; p += 4) if (d[p] === 110) n++;
      return { n, w: (c as HTMLCanvasElement).width, h: (c as HTMLCanvasElement).height };
    });
    const { width: W, height: H } = PNG.sync.read(demoPng());
    assert.equal([tinted.w, tinted.h], [W, H], 'the overlay is at the image\'s size');
    const area = api.json.choices[0].message.masks[0].area;
    // The box outline is drawn over the tint, so a few tinted pixels may be covered.
    assert.ok(tinted.n <= area && tinted.n >= area - 2 * (W + H) * 3, `tinted ${tinted.n} of a ${area}-pixel mask`);
    const href = await page.$eval('#masks li.mask-item a', (a) => (a as HTMLAnchorElement).href);
    assert.is(href, `data:image/png;base64,${api.json.choices[0].message.masks[0].png}`);
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'test-artifacts', 'serve-web.png'), fullPage: true });
    await page.click('#masks li.mask-item input[type=checkbox]');
    assert.ok(await page.$eval('#overlays canvas', (c) => (c as HTMLCanvasElement).hidden), 'toggled off');
    await page.click('#masks li.mask-item input[type=checkbox]');
    assert.not.ok(await page.$eval('#overlays canvas', (c) => (c as HTMLCanvasElement).hidden), 'toggled on');
    // A second turn: the history goes with it (the page's answer equals the API's with that history).
    await page.uncheck('#force-seg');
    await page.fill('#question', 'And its colour?');
    await page.press('#question', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant[data-done="true"]').length === 2, undefined, { timeout: 5 * 60_000 });
    const second = await page.$$eval('.msg.assistant', (es) => es[1].textContent);
    const api2 = await post(`${s.base}/v1/chat/completions`, JSON.stringify({ max_tokens: 6, messages: [
      { role: 'user', content: [{ type: 'text', text: 'Where is the red square?' }, { type: 'image_url', image_url: { url: dataUrl(demoPng()) } }] },
      { role: 'assistant', content: shown.text }, { role: 'user', content: 'And its colour?' }] }));
    assert.is(second, api2.json.choices[0].message.content);
    assert.equal(errors, [], 'no script errors on the page');
  } finally {
    await browser.close();
    await s.close();
  }
});
