// What the package tests share: the repository root, the README's library example (the exact code block),
// child processes with a clean environment (no npm_* variables of an enclosing `npm test`, no NODE_PATH)
// and a guard timeout against hangs only, and the check of what the example prints.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

/** The repository root (this file runs from dist/test/package/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A hang guard, not a speed check: a child still running after this long is killed. */
export const GUARD_MS = 15 * 60_000;

const HEADING = '## Use it as a library';

/** The ```js block of the README's "Use it as a library" section, verbatim. */
export function readmeExample(readme = readFileSync(`${repoRoot}/README.md`, 'utf8')): string {
  const at = readme.indexOf(`\n${HEADING}\n`);
  if (at < 0) throw new Error(`README.md has no "${HEADING}" section`);
  const section = readme.slice(at + HEADING.length + 2).split(/\n## /)[0];
  const block = /^```js\n([\s\S]*?)^```$/m.exec(section);
  if (!block) throw new Error(`README.md's "${HEADING}" section has no \`\`\`js code block`);
  return block[1];
}

/** process.env without what an enclosing npm run sets (npm_config_prefix would redirect an install) or NODE_PATH. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_PATH') env[k] = v;
  return { XDG_RUNTIME_DIR: '/tmp', ...env, ...extra };
}

export interface Run { code: number | null; stdout: string; stderr: string }

export function run(cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: o.cwd, env: o.env ?? cleanEnv(), timeout: GUARD_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === null ? `\n(${err.message})` : '') });
      });
  });
}

export function describe(what: string, r: Run): string {
  return `${what}: exit ${r.code}\nstdout: ${r.stdout.slice(-4000)}\nstderr: ${r.stderr.slice(-4000)}`;
}

/** The example prints a streamed answer, a second answer, and one line per mask of the 64 x 48 image. */
export function checkExampleOutput(r: Run): void {
  assert.ok(r.code === 0, describe('the README example', r));
  const masks = [...r.stdout.matchAll(/^mask (\d+)x(\d+): (\d+) px, box \[([\d.,]*)\]$/gm)];
  assert.ok(masks.length >= 1, `the README example printed no mask line\n${describe('the README example', r)}`);
  for (const m of masks) {
    assert.ok(m[1] === '64' && m[2] === '48', `mask size ${m[1]}x${m[2]}, expected the image's 64x48`);
    const area = Number(m[3]);
    assert.ok(area >= 0 && area <= 64 * 48, `mask area ${area}`);
    assert.ok((area === 0) === (m[4] === ''), `box [${m[4]}] for area ${area}: an empty mask has no box, a non-empty one has`);
  }
}
