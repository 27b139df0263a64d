import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../../harness/test.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../ullava/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: HANG_GUARD_MS });

test('ullava doctor describes the device and passes its self-check', () => {
  const r = run('doctor', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(typeof out.device.description === 'string' && out.device.limits.maxBufferSize > 0);
  assert.ok(out.checks.length === 3 && out.checks.every((c: { ok: boolean }) => c.ok), r.stdout);
});

test('ullava: unknown commands and options exit with 2 and the usage', () => {
  const a = run('frobnicate');
  assert.equal(a.status, 2);
  assert.ok(/unknown command "frobnicate"/.test(a.stderr) && /commands:/.test(a.stderr));
  const b = run('doctor', '--bogus');
  assert.equal(b.status, 2);
  assert.ok(/Unknown option '--bogus'/.test(b.stderr) && /usage: ullava doctor/.test(b.stderr));
});
