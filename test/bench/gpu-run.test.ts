// test/bench/gpu-run.test.ts: the frame of the GPU lease script (bench/gpu-run.ts): argument parsing, the
// part runner that records a failing part and goes on, the deadline that skips parts, the peer runner's
// failures, the decode extrapolation and where the commit comes from. No GPU and no PyTorch needed.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { test, HANG_GUARD_MS } from '../harness/test.js';
import { assertRejects } from '../harness/assert.js';
import { parseGpuArgs, runParts, eachRow, runPeer, runMeta, Clock, PART_NAMES, type PartPlan } from '../../bench/gpu-run.js';
import { extrapolate } from '../../bench/gpu-decode.js';

const gpuRunUrl = new URL('../../bench/gpu-run.js', import.meta.url).href;

test('parseGpuArgs: defaults, quick budget, parts kept in the planned order, clear errors', async () => {
  const a = parseGpuArgs(['--out', '/tmp/x']);
  assert.equal([a.out, a.quick, a.parts, a.budgetS, a.noTorch, a.decodeLayers], ['/tmp/x', false, [...PART_NAMES], 420, false, 32]);
  assert.is(parseGpuArgs(['--out', 'o', '--quick']).budgetS, 1800);
  const b = parseGpuArgs(['--out', 'o', '--parts', 'sam,device', '--budget-s', '100', '--no-torch', '--decode-layers', '2', '--python', '/usr/bin/python3']);
  assert.equal([b.parts, b.budgetS, b.noTorch, b.decodeLayers, b.python], [['device', 'sam'], 100, true, 2, '/usr/bin/python3']);
  await assertRejects(() => parseGpuArgs(['--quick']), /--out DIR is required/);
  await assertRejects(() => parseGpuArgs(['--out', 'o', '--parts', 'gemm,flops']), /--parts: unknown part flops; known: device, copy, gemm/);
  await assertRejects(() => parseGpuArgs(['--out', 'o', '--budget-s', 'soon']), /--budget-s: "soon" is not a number >= 10/);
  await assertRejects(() => parseGpuArgs(['--out']), /--out needs a value/);
  await assertRejects(() => parseGpuArgs(['--out', 'o', '--fast']), /unknown option --fast/);
});

test('runParts: a failing part is recorded with its error and partial rows, the next part runs, a part without time is skipped', async () => {
  const out = await mkdtemp(join(tmpdir(), 'gpu-run-'));
  try {
    const args = parseGpuArgs(['--out', out, '--parts', 'device,copy,gemm,sam', '--budget-s', '60']);
    const ran: string[] = [];
    const plans: PartPlan[] = [
      { name: 'device', minS: 1, capS: 10, body: async (rec) => { ran.push('device'); rec.openings = { a: 1 }; } },
      { name: 'copy', minS: 1, capS: 10, body: async (rec) => { ran.push('copy'); rec.ours = [{ bytes: 4 }]; throw new RangeError('the staging buffer was lost'); } },
      { name: 'gemm', minS: 1000, capS: 10, body: async () => { ran.push('gemm'); } },
      { name: 'attention', minS: 1, capS: 10, body: async () => { ran.push('attention'); } }, // not asked for
      { name: 'sam', minS: 1, capS: 10, body: async (rec, deadline) => { ran.push('sam'); rec.deadlineAhead = deadline > performance.now(); return 'partial'; } },
    ];
    const results = await runParts(args, runMeta(args, []), new Clock(60_000), plans, (rs) => ({ statuses: rs.map((r) => r.status) }));
    assert.equal(ran, ['device', 'copy', 'sam']);
    assert.equal(results.map((r) => [r.part, r.status]), [['device', 'ok'], ['copy', 'failed'], ['gemm', 'skipped'], ['sam', 'partial']]);
    const copy = JSON.parse(await readFile(join(out, 'copy.json'), 'utf8'));
    assert.is(copy.error, 'RangeError: the staging buffer was lost');
    assert.equal(copy.ours, [{ bytes: 4 }], 'rows done before the failure are kept');
    assert.ok(copy.meta.date && copy.meta.commit.commit, 'every part records date and commit');
    const gemm = JSON.parse(await readFile(join(out, 'gemm.json'), 'utf8'));
    assert.match(gemm.reason, /global deadline: \d+ s left, the part needs at least 1000 s/);
    assert.is(JSON.parse(await readFile(join(out, 'sam.json'), 'utf8')).deadlineAhead, true);
    assert.ok(!existsSync(join(out, 'attention.json')));
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    assert.is(summary.finished, true);
    assert.equal(summary.parts.map((p: { part: string; status: string }) => `${p.part}:${p.status}`), ['device:ok', 'copy:failed', 'gemm:skipped', 'sam:partial']);
    assert.equal(summary.statuses, ['ok', 'failed', 'skipped', 'partial']);
    assert.match(summary.parts[1].error, /staging buffer was lost/);
  } finally { await rm(out, { recursive: true, force: true }); }
});

test('eachRow: a row that throws is recorded and the next goes on; rows past the deadline are skipped', async () => {
  const rows: unknown[] = [];
  const status = await eachRow([1, 2, 3], performance.now() + 60_000, (n) => `row ${n}`, async (n) => {
    if (n === 2) throw new TypeError('bad shape');
    return { label: `row ${n}`, ok: true };
  }, rows);
  assert.is(status, 'partial');
  assert.equal(rows, [{ label: 'row 1', ok: true }, { label: 'row 2', error: 'TypeError: bad shape' }, { label: 'row 3', ok: true }]);
  const late: unknown[] = [];
  assert.is(await eachRow([1], performance.now() - 1, (n) => `row ${n}`, async () => ({}), late), 'partial');
  assert.equal(late, [{ label: 'row 1', skipped: 'part time limit reached' }]);
});

test('runPeer: --no-torch skips, a Python that cannot start or fails is an error with the reason', async () => {
  const base = ['--out', '/tmp/unused'];
  assert.equal(await runPeer(parseGpuArgs([...base, '--no-torch']), 'gemm', {}, 60), { skipped: '--no-torch' });
  const missing = await runPeer(parseGpuArgs([...base, '--python', '/nonexistent/python3']), 'gemm', {}, 60);
  assert.match(String(missing.error), /could not start.*ENOENT/s);
  const failing = await runPeer(parseGpuArgs([...base, '--python', '/bin/false']), 'gemm', {}, 60);
  assert.match(String(failing.error), /exited with 1/);
  const short = await runPeer(parseGpuArgs([...base, '--python', '/bin/false']), 'gemm', {}, 2);
  assert.match(String(short.skipped), /only 2 s left/);
});

test('extrapolate: the whole model as measured, a slice linearly in the layer count', () => {
  assert.is(extrapolate([{ layers: 32, msPerToken: 20 }], 32), 20);
  assert.is(extrapolate([{ layers: 1, msPerToken: 3 }, { layers: 2, msPerToken: 3.5 }], 32), 3 + 0.5 * 31);
  assert.is(extrapolate([{ layers: 2, msPerToken: 3 }], 32), null);
});

test('the commit comes from git, else from the file pack.sh writes (no .git on the GPU machine)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gpu-commit-'));
  try {
    await writeFile(join(dir, 'commit.json'), JSON.stringify({ commit: 'abc123def', dirtyFiles: 2, packedAt: '2026-12-01T00:00:00Z' }));
    const code = `import('${gpuRunUrl}').then((m) => console.log(JSON.stringify(m.commitInfo())))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8', timeout: HANG_GUARD_MS,
      env: { ...process.env, ULLAVA_COMMIT_FILE: join(dir, 'commit.json'), GIT_DIR: join(dir, 'no-git') } });
    const info = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(info, { commit: 'abc123def', source: join(dir, 'commit.json'), dirtyFiles: 2, packedAt: '2026-12-01T00:00:00Z' });
  } finally { await rm(dir, { recursive: true, force: true }); }
});
