// What the serve tests share: the tiny random u-LLaVA (loaded once per test process), servers on a free
// loopback port, data: URLs, and the OpenAI client pointed at a server.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { loadUllava, type LoadedUllava } from '../../../ullava/models/ullava/load.js';
import { createServer, type ServeOptions, type ServerContext } from '../../../ullava/serve/server.js';
import { tinySafetensorsDir } from '../models/ullava/fixture.js';

let shared: Promise<LoadedUllava> | undefined;
export const tinyModel = () => (shared ??= tinySafetensorsDir().then((d) => loadUllava(d, { dtype: 'f32' })));

export const MODEL_ID = 'tiny-test';

export interface Running { app: FastifyInstance; ctx: ServerContext; base: string; close: () => Promise<void> }

/** A server on 127.0.0.1, any free port. */
export async function startServer(o: Partial<ServeOptions> = {}): Promise<Running> {
  const loaded = await tinyModel();
  const { app, ctx } = await createServer(loaded, { modelId: MODEL_ID, ...o });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  // A server left open by a test file must not keep the test process alive.
  app.server.unref();
  return { app, ctx, base, close: () => app.close() };
}

export function client(base: string, apiKey = 'none'): OpenAI {
  return new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0, timeout: 10 * 60_000 });
}

/** The repository root (dist/test/ullava/serve -> ../../../..). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export function demoPng(): Buffer { return readFileSync(join(REPO, 'docs', 'demo.png')); }

export const dataUrl = (bytes: Uint8Array, mime = 'image/png') => `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;

/** POSTs a raw body; returns status, headers and the parsed JSON (or the text). */
export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, headers: r.headers, json };
}
