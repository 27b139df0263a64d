import { test, assert, assertEqual } from '../../framework.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../ullava/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

test('ullava doctor describes the device and passes its self-check', () => {
  const r = run('doctor', '--json');
  assertEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert(typeof out.device.description === 'string' && out.device.limits.maxBufferSize > 0);
  assert(out.checks.length === 3 && out.checks.every((c: { ok: boolean }) => c.ok), r.stdout);
});

test('ullava: unknown commands and options exit with 2 and the usage', () => {
  const a = run('frobnicate');
  assertEqual(a.status, 2);
  assert(/unknown command "frobnicate"/.test(a.stderr) && /commands:/.test(a.stderr));
  const b = run('doctor', '--bogus');
  assertEqual(b.status, 2);
  assert(/Unknown option '--bogus'/.test(b.stderr) && /usage: ullava doctor/.test(b.stderr));
});
