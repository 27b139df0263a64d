// The default model (ullava/api/default-model.ts): the built-in shapes model's directory is the package's
// own models/shapes and is complete in the repository; a missing or broken copy is refused with what is
// missing and how to get it back; the tiny RANDOM test model is written under the cache once.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import {
  cacheDir, defaultModelDir, defaultModelProblems, ensureDefaultModel, ensureRandomTinyModel, randomTinyModelDir,
  DefaultModelMissingError, DEFAULT_MODEL_FILES,
} from '../../../ullava/api/default-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'ullava-default-model-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** The repository root (this file runs from dist/test/ullava/api/). */
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** A directory holding stand-ins for the model's files (content, not a model), less `omit`, with `over` written over. */
function fakeModel(name: string, omit: string[] = [], over: Record<string, string | Uint8Array> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of DEFAULT_MODEL_FILES) {
    if (omit.includes(f)) continue;
    writeFileSync(join(dir, f), over[f] ?? (f === 'model.safetensors' ? new Uint8Array(4096).fill(7) : '{}\n'));
  }
  return dir;
}

async function refusal(dir: string): Promise<DefaultModelMissingError> {
  try { await ensureDefaultModel(dir); } catch (e) {
    assert.ok(e instanceof DefaultModelMissingError, `expected a DefaultModelMissingError, got ${String(e)}`);
    return e;
  }
  throw new Error(`${dir} was accepted, expected a DefaultModelMissingError`);
}

test('the built-in model is the repository\'s models/shapes, complete (all six files of the published layout)', async () => {
  assert.is(defaultModelDir(), join(repoRoot, 'models', 'shapes'));
  assert.equal(await defaultModelProblems(defaultModelDir()), []);
  assert.equal(await ensureDefaultModel(), { dir: defaultModelDir() });
});

test('a missing or incomplete built-in model is refused: which file, and how to get it back (reinstall, git, --model)', async () => {
  const gone = await refusal(join(tmp, 'nowhere'));
  assert.equal(gone.problems, ['the directory does not exist']);
  for (const hint of [/reinstalling the package \(npm install ullava-ts\)/, /git checkout -- models\/shapes/, /no Git LFS needed/, /--model DIR/, /Ullava\.load\(dir\)/]) {
    assert.match(gone.message, hint);
  }
  assert.ok(gone.message.includes(join(tmp, 'nowhere')), gone.message);

  const partial = await refusal(fakeModel('partial', ['tokenizer.model', 'added_tokens.json']));
  assert.equal(partial.problems, ['tokenizer.model is missing', 'added_tokens.json is missing']);

  const lfs = await refusal(fakeModel('lfs', [], { 'model.safetensors': 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 28274168\n' }));
  assert.equal(lfs.problems, ['model.safetensors is a Git LFS pointer, not the weights']);

  const cut = await refusal(fakeModel('cut', [], { 'model.safetensors': new Uint8Array(100), 'config.json': '' }));
  assert.equal(cut.problems, ['config.json is empty', 'model.safetensors has only 100 bytes (the weights are about 28 MB)']);

  const whole = fakeModel('whole');
  assert.equal(await ensureDefaultModel(whole), { dir: whole });
});

test('cacheDir: $ULLAVA_CACHE, else $XDG_CACHE_HOME/ullava, else ~/.cache/ullava; the random test model lives in <cache>/tiny-ullava', () => {
  assert.is(cacheDir({ ULLAVA_CACHE: '/a/b', XDG_CACHE_HOME: '/x' }), '/a/b');
  assert.is(cacheDir({ XDG_CACHE_HOME: '/x' }), '/x/ullava');
  assert.is(cacheDir({}), join(homedir(), '.cache', 'ullava'));
  assert.is(randomTinyModelDir({ ULLAVA_CACHE: '/a/b' }), '/a/b/tiny-ullava');
});

test('ensureRandomTinyModel writes the random test model under the cache once, then reuses it', async () => {
  const env = { ULLAVA_CACHE: join(tmp, 'cache') };
  const first = await ensureRandomTinyModel(env);
  assert.equal(first, { dir: join(tmp, 'cache', 'tiny-ullava'), written: true });
  assert.ok(existsSync(join(first.dir, 'config.json')) && existsSync(join(first.dir, 'tokenizer.model')));
  assert.equal(await ensureRandomTinyModel(env), { dir: first.dir, written: false });
});
