// HF tokenizers' tokenizer.json with a BPE model (LLaMA's fast-tokenizer layout): normalizer
// (Sequence of Prepend / Replace / NFC / NFKC / Lowercase), optional Metaspace pre-tokenizer, BPE with
// ranked merges and byte fallback, added tokens with lstrip/rstrip. Other pipelines are refused clearly.
import { pyLstrip, pyRstrip, type EncodeOptions } from './llama.js';
import { StreamDecoder } from './stream.js';

interface AddedTok { id: number; content: string; lstrip: boolean; rstrip: boolean; special: boolean }
type Normalize = (s: string) => string;

const enc = new TextEncoder();

function buildNormalizer(spec: any): Normalize {
  if (!spec) return (s) => s;
  switch (spec.type) {
    case 'Sequence': { const fs = (spec.normalizers as unknown[]).map(buildNormalizer); return (s) => fs.reduce((acc, f) => f(acc), s); }
    case 'Prepend': return (s) => (s ? spec.prepend + s : s);
    case 'Replace': {
      if (typeof spec.pattern?.String !== 'string') throw new Error('tokenizer.json: Replace normalizer with a regex pattern is not supported');
      return (s) => s.replaceAll(spec.pattern.String, spec.content);
    }
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': return (s) => s.normalize(spec.type);
    case 'Lowercase': return (s) => s.toLowerCase();
    default: throw new Error(`tokenizer.json: normalizer ${spec.type} is not supported`);
  }
}

export class HfBpeTokenizer {
  private vocab = new Map<string, number>();
  private pieces: string[] = [];
  private ranks = new Map<string, number>();
  private byteIds = new Int32Array(256).fill(-1);
  private added = new Map<string, AddedTok>();
  private addedById = new Map<number, AddedTok>();
  private splitter: RegExp | null = null;
  private normalize: Normalize;
  private metaspace: { replacement: string; prepend: 'always' | 'first' | 'never'; split: boolean } | null = null;
  private unkId: number | undefined;
  private byteFallback: boolean;
  private fuseUnk: boolean;
  readonly bosId: number;
  readonly eosId: number;
  readonly vocabSize: number;

  private constructor(json: any, matchSpecial: boolean) {
    const m = json?.model;
    if (!m || m.type !== 'BPE') throw new Error(`tokenizer.json: model type ${m?.type} is not supported (only BPE)`);
    if (m.continuing_subword_prefix || m.end_of_word_suffix) throw new Error('tokenizer.json: BPE subword prefixes/suffixes are not supported');
    for (const [p, id] of Object.entries(m.vocab as Record<string, number>)) { this.vocab.set(p, id); this.pieces[id] = p; }
    (m.merges as (string | [string, string])[]).forEach((mg, rank) => {
      const [a, b] = Array.isArray(mg) ? mg : (() => { const i = mg.indexOf(' ', 1); return [mg.slice(0, i), mg.slice(i + 1)]; })();
      const key = a + '\u0000' + b;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    for (let b = 0; b < 256; b++) { const id = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); if (id !== undefined) this.byteIds[b] = id; }
    this.unkId = m.unk_token != null ? this.vocab.get(m.unk_token) : undefined;
    this.byteFallback = !!m.byte_fallback;
    this.fuseUnk = !!m.fuse_unk;
    this.normalize = buildNormalizer(json.normalizer);
    const pt = json.pre_tokenizer;
    if (pt) {
      if (pt.type !== 'Metaspace') throw new Error(`tokenizer.json: pre-tokenizer ${pt.type} is not supported (ByteLevel BPE is not a LLaMA tokenizer)`);
      const prepend = pt.prepend_scheme ?? (pt.add_prefix_space === false ? 'never' : 'always');
      this.metaspace = { replacement: pt.replacement ?? '\u2581', prepend, split: pt.split ?? true };
    }
    for (const t of (json.added_tokens ?? []) as any[]) {
      const a = { id: t.id, content: t.content, lstrip: !!t.lstrip, rstrip: !!t.rstrip, special: !!t.special };
      this.added.set(a.content, a); this.addedById.set(a.id, a);
      this.pieces[a.id] ??= a.content;
    }
    const contents = [...this.added.keys()].sort((a, b) => b.length - a.length);
    if (matchSpecial && contents.length) this.splitter = new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
    this.bosId = this.vocab.get('<s>') ?? this.added.get('<s>')?.id ?? 1;
    this.eosId = this.vocab.get('</s>') ?? this.added.get('</s>')?.id ?? 2;
    this.vocabSize = this.pieces.length;
  }

  static fromJson(json: unknown, matchSpecial = true): HfBpeTokenizer { return new HfBpeTokenizer(json, matchSpecial); }

  tokenId(content: string): number | undefined { return this.added.get(content)?.id ?? this.vocab.get(content); }

  private encodeChunk(text: string, first: boolean, out: number[]): void {
    let s = this.normalize(text);
    let words = [s];
    if (this.metaspace) {
      const { replacement, prepend, split } = this.metaspace;
      s = s.replaceAll(' ', replacement);
      if (s && (prepend === 'always' || (prepend === 'first' && first)) && !s.startsWith(replacement)) s = replacement + s;
      words = split ? s.split(new RegExp(`(?=${replacement})`)).filter((w) => w) : [s];
    }
    for (const w of words) this.bpe(w, out);
  }

  private bpe(w: string, out: number[]): void {
    if (!w) return;
    const syms: string[] = [];
    for (const ch of w) syms.push(ch);
    // HF's word merge: repeatedly apply the lowest-ranked merge, leftmost first
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(syms[i] + '\u0000' + syms[i + 1]);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      syms.splice(best, 2, syms[best] + syms[best + 1]);
    }
    let prevUnk = false;
    for (const s of syms) {
      const id = this.vocab.get(s);
      if (id !== undefined) { out.push(id); prevUnk = false; continue; }
      if (this.byteFallback && this.byteIds.every((x) => x >= 0)) { for (const b of enc.encode(s)) out.push(this.byteIds[b]); prevUnk = false; continue; }
      if (this.unkId === undefined) throw new Error(`tokenizer.json: "${s}" is not in the vocabulary and there is no unk_token`);
      if (!(this.fuseUnk && prevUnk)) out.push(this.unkId);
      prevUnk = true;
    }
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.bos) out.push(this.bosId);
    const chunks: { text: string; tok?: AddedTok }[] = [];
    let last = 0;
    if (this.splitter) {
      this.splitter.lastIndex = 0;
      for (let m = this.splitter.exec(text); m; m = this.splitter.exec(text)) {
        if (m.index > last) chunks.push({ text: text.slice(last, m.index) });
        chunks.push({ text: m[0], tok: this.added.get(m[0]) });
        last = m.index + m[0].length;
      }
    }
    if (last < text.length) chunks.push({ text: text.slice(last) });
    chunks.forEach((c, i) => {
      if (!c.tok) return;
      const l = chunks[i - 1], r = chunks[i + 1];
      if (c.tok.lstrip && l && !l.tok) l.text = pyRstrip(l.text);
      if (c.tok.rstrip && r && !r.tok) r.text = pyLstrip(r.text);
    });
    chunks.forEach((c, i) => { if (c.tok) out.push(c.tok.id); else if (c.text) this.encodeChunk(c.text, i === 0, out); });
    if (opts.eos) out.push(this.eosId);
    return out;
  }

  tokenBytes(id: number, atStart: boolean): Uint8Array {
    const a = this.addedById.get(id);
    if (a) return a.special ? new Uint8Array(0) : enc.encode(a.content);
    const p = this.pieces[id];
    if (p === undefined) throw new RangeError(`token id ${id} is outside the vocabulary`);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
    if (m) return Uint8Array.of(parseInt(m[1], 16));
    let s = p.replaceAll('\u2581', ' ');
    if (atStart && s.startsWith(' ')) s = s.slice(1);
    return enc.encode(s);
  }

  isControl(id: number): boolean { return !!this.addedById.get(id)?.special; }

  decode(ids: readonly number[]): string {
    const d = this.streamDecoder();
    let s = '';
    for (const id of ids) s += d.push(id);
    return s + d.flush();
  }

  streamDecoder(): StreamDecoder { return new StreamDecoder(this); }
}
