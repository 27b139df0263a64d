// `ullava serve` as a user starts it: a child process on the built-in shapes model (no --model), --port 0
// and --api-key; it prints the address it bound (127.0.0.1 by default), answers /health without the key and
// a chat with it (model id "ullava-shapes"), refuses bad options with the usage (exit 2), and on SIGTERM
// finishes and exits 0.
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { test } from '../../harness/test.js';
import { cli, root, run } from './helpers.js';

test('ullava serve: binds 127.0.0.1, /health without the key, a chat with it, SIGTERM exits 0', async () => {
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--api-key', 'k-123', '--max-batch', '2', '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ULLAVA_CACHE: join(root, 'cache') } });
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const base = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (l) => { const m = /^listening (\S+)/.exec(l); if (m) resolve(m[1]); });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
  });
  try {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.is((await fetch(`${base}/health`)).status, 200);
    assert.is((await fetch(`${base}/v1/models`)).status, 401);
    const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k-123' },
      body: JSON.stringify({ max_tokens: 3, messages: [{ role: 'user', content: 'Hi.' }] }) });
    const j = await r.json() as { model: string; usage: { completion_tokens: number } };
    assert.is(r.status, 200);
    assert.is(j.model, 'ullava-shapes');
    assert.ok(j.usage.completion_tokens >= 1);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.is(await exited, 0, stderr);
});

test('ullava serve: bad options exit 2 with the usage', () => {
  for (const args of [['--port', 'http'], ['--port', '70000'], ['--max-batch', '0'], ['--api-key', ' '], ['--bogus']]) {
    const r = run(['serve', ...args]);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: ullava serve/);
  }
});
