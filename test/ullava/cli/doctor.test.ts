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

test('ullava doctor prints the subgroup-matrix configs and the toggles in force (--fast adds the speed toggles)', () => {
  const r = run('doctor', '--fast');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^subgroup-matrix configs /m);
  assert.match(r.stdout, /^toggles enabled  allow_unsafe_apis \(/m);
  for (const t of ['skip_validation', 'disable_robustness', 'disable_workgroup_init']) assert.ok(r.stdout.includes(`${t} (fast option`), t);
  assert.match(r.stdout, /^toggles disabled /m);
  const j = JSON.parse(run('doctor', '--json').stdout);
  assert.ok(Array.isArray(j.device.subgroupMatrixConfigs) && j.device.toggles.enable.includes('allow_unsafe_apis'));
  assert.ok(!j.device.toggles.enable.includes('skip_validation'), 'speed toggles off by default');
});
