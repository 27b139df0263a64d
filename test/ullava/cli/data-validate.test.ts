// test/ullava/cli/data-validate.test.ts: `ullava data validate` prints every problem with its line and field,
// a summary per task, and with --media the bad images; exit status 1 on any problem, 0 on a clean manifest.
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from '../../harness/test.js';
import { run, root, describe } from './helpers.js';
import { writeImage } from '../data/helpers.js';

test('ullava data validate: all errors, a summary per task, --media finds a missing image', async () => {
  const dir = await mkdtemp(join(root, 'validate-'));
  await writeImage(join(dir, 'a.png'), 2, 2);
  const good = { task: 'res', image: 'a.png', targets: [{ sentences: ['x'], category: 'c', mask: { size: [2, 2], counts: [1, 2, 1] } }] };
  await writeFile(join(dir, 'ok.jsonl'), JSON.stringify(good) + '\n');
  const ok = run(['data', 'validate', join(dir, 'ok.jsonl'), '--media']);
  assert.is(ok.status, 0, describe(ok));
  assert.match(ok.stdout, /ok: 1 lines, 0 with problems \(media checked\)\ntask +valid +invalid\nres +1 +0/);

  await writeFile(join(dir, 'bad.jsonl'), [
    JSON.stringify(good),
    JSON.stringify({ ...good, targets: [{ category: '', mask: { size: [2, 2], counts: [1, 2] } }] }),
    JSON.stringify({ ...good, image: 'missing.png' }),
    '{bad',
  ].join('\n'));
  const bad = run(['data', 'validate', join(dir, 'bad.jsonl'), '--media']);
  assert.is(bad.status, 1, describe(bad));
  assert.match(bad.stdout, /bad\.jsonl:2: "targets\[0\]\.sentences" must be present/);
  assert.match(bad.stdout, /bad\.jsonl:2: "targets\[0\]\.category" must be a non-empty class name/);
  assert.match(bad.stdout, /bad\.jsonl:2: "targets\[0\]\.mask\.counts" cover 3 pixels/);
  assert.match(bad.stdout, /bad\.jsonl:4: not valid JSON/);
  assert.match(bad.stdout, /bad\.jsonl:3: "image": .*missing\.png/);
  assert.match(bad.stdout, /4 lines, 3 with problems \(media checked\)\ntask +valid +invalid\nres +1 +2\nunknown +0 +1/);
  const usage = run(['data', 'validate']);
  assert.is(usage.status, 2, describe(usage));
});
