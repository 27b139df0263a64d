// Loading a tokenizer from disk: a bare tokenizer.model, an HF tokenizer directory (tokenizer.model with
// added_tokens.json / special_tokens_map.json / tokenizer_config.json), or an HF tokenizer.json.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SentencePieceProcessor } from './sentencepiece.js';
import { LlamaTokenizer, type AddedToken } from './llama.js';
import { HfBpeTokenizer } from './tokenizer-json.js';

export type Tokenizer = LlamaTokenizer | HfBpeTokenizer;

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try { return JSON.parse(await readFile(path, 'utf8')); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

interface TokenDecl { content: string; lstrip?: boolean; rstrip?: boolean; declared: boolean }
function tokenDecl(v: unknown): TokenDecl | undefined {
  if (typeof v === 'string') return { content: v, declared: false };
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    const o = v as { content: string; lstrip?: boolean; rstrip?: boolean };
    return { content: o.content, lstrip: !!o.lstrip, rstrip: !!o.rstrip, declared: true };
  }
  return undefined;
}

/**
 * Builds the HF-style added-token list from a directory's JSON files (see llama.ts for the whitespace
 * rules). <s>, </s>, <unk> default to AddedToken(lstrip=False, rstrip=False) as LlamaTokenizer's constructor.
 */
async function readAddedTokens(dir: string, sp: SentencePieceProcessor): Promise<AddedToken[]> {
  const addedJson = (await readJson(join(dir, 'added_tokens.json'))) ?? {};
  const stm = (await readJson(join(dir, 'special_tokens_map.json'))) ?? {};
  const cfg = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {};
  const decls = new Map<string, TokenDecl & { special: boolean }>();
  const declare = (v: unknown, special: boolean) => {
    const d = tokenDecl(v);
    if (!d) return;
    const prev = decls.get(d.content);
    if (!prev || (d.declared && !prev.declared)) decls.set(d.content, { ...d, special: special || !!prev?.special });
  };
  for (const [piece, id] of [['<unk>', sp.unkId], ['<s>', sp.bosId], ['</s>', sp.eosId]] as const) {
    if (id >= 0 && sp.idToPiece(id) === piece) decls.set(piece, { content: piece, lstrip: false, rstrip: false, declared: true, special: true });
  }
  for (const src of [cfg, stm]) {
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) declare(src[k], true);
    const extra = src.additional_special_tokens;
    if (Array.isArray(extra)) for (const v of extra) declare(v, true);
  }
  const tokens = new Map<string, AddedToken>();
  const idOf = (content: string): number | undefined => {
    const j = addedJson[content];
    if (typeof j === 'number') return j;
    return sp.pieceToId(content);
  };
  for (const [content, id] of Object.entries(addedJson)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`${dir}/added_tokens.json: id of ${JSON.stringify(content)} is not a non-negative integer`);
    if (id < sp.vocabSize && sp.idToPiece(id) !== content) throw new Error(`${dir}/added_tokens.json: ${JSON.stringify(content)} = ${id} collides with vocabulary piece ${JSON.stringify(sp.idToPiece(id))}`);
  }
  // added_tokens_decoder (newer tokenizer_config.json) carries explicit flags per id
  const atd = cfg.added_tokens_decoder;
  if (atd && typeof atd === 'object') {
    for (const [idStr, v] of Object.entries(atd as Record<string, unknown>)) {
      const d = tokenDecl(v);
      if (!d) continue;
      const special = !!(v as { special?: boolean }).special;
      decls.set(d.content, { ...d, declared: true, special: special || !!decls.get(d.content)?.special });
      tokens.set(d.content, { content: d.content, id: Number(idStr), lstrip: !!d.lstrip, rstrip: !!d.rstrip, special });
    }
  }
  const contents = new Set([...Object.keys(addedJson), ...decls.keys()]);
  for (const content of contents) {
    if (tokens.has(content)) { const d = decls.get(content); if (d) tokens.get(content)!.special ||= d.special; continue; }
    const id = idOf(content);
    if (id === undefined) continue; // declared but neither added nor in the vocabulary: HF would add it; we cannot give it an id
    const d = decls.get(content);
    // a plain-string token strips both sides (HF 4.29); an AddedToken follows its flags
    const declared = d?.declared ?? false;
    tokens.set(content, { content, id, lstrip: declared ? !!d!.lstrip : true, rstrip: declared ? !!d!.rstrip : true, special: d?.special ?? false });
  }
  return [...tokens.values()].sort((a, b) => a.id - b.id);
}

export interface LoadTokenizerOptions {
  /** Cut text at special/added tokens. Default: true for a directory or tokenizer.json, false for a bare .model. */
  matchSpecial?: boolean;
}

/** PATH: a tokenizer.model file, a tokenizer.json file, or a directory holding either (plus HF JSON files). */
export async function loadTokenizer(path: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const st = await stat(path);
  if (st.isDirectory()) {
    const model = join(path, 'tokenizer.model');
    if (await stat(model).then((s) => s.isFile(), () => false)) {
      const sp = SentencePieceProcessor.fromBytes(new Uint8Array(await readFile(model)));
      return new LlamaTokenizer(sp, await readAddedTokens(path, sp), opts.matchSpecial ?? true);
    }
    const tj = join(path, 'tokenizer.json');
    if (await stat(tj).then((s) => s.isFile(), () => false)) return HfBpeTokenizer.fromJson(JSON.parse(await readFile(tj, 'utf8')), opts.matchSpecial ?? true);
    throw new Error(`${path}: holds neither tokenizer.model nor tokenizer.json`);
  }
  if (basename(path).endsWith('.json')) return HfBpeTokenizer.fromJson(JSON.parse(await readFile(path, 'utf8')), opts.matchSpecial ?? true);
  const sp = SentencePieceProcessor.fromBytes(new Uint8Array(await readFile(path)));
  const specials: AddedToken[] = [];
  for (const id of [sp.unkId, sp.bosId, sp.eosId]) {
    const p = id >= 0 ? sp.idToPiece(id) : undefined;
    if (p) specials.push({ content: p, id, lstrip: false, rstrip: false, special: true });
  }
  return new LlamaTokenizer(sp, specials, opts.matchSpecial ?? false);
}
