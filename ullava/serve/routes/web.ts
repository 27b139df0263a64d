// The web page at / (plain HTML, CSS and JS; no build step), served from ullava/serve/web in the
// repository or the package. The page holds no data, so it needs no key; the API calls it makes do.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
export const WEB_FILES = new Set(Object.keys(FILES));

/** dist/ullava/serve/routes -> ullava/serve/web (the sources are not compiled; tsc does not copy them). */
export function webDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'web'), join(here, '..', '..', '..', '..', 'ullava', 'serve', 'web')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`the web page's files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

export const webRoutes = (): FastifyPluginAsync => async (app) => {
  const dir = webDir();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    app.get(path, async (_req, reply) => {
      reply.header('content-type', type).header('cache-control', 'no-cache');
      return readFile(join(dir, file));
    });
  }
};
