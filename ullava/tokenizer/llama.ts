// The LLaMA tokenizer as u-LLaVA uses it: HF's slow LlamaTokenizer (transformers 4.29.1, the version
// u-LLaVA pins; "legacy" behaviour) = SentencePiece + added tokens matched in the text.
//
// How HF 4.29 treats text containing added/special tokens, reproduced here:
//  - the text is cut at every occurrence of a no-split token (all added tokens, plus <s>, </s>, <unk>),
//    leftmost-longest, as its Trie.split does;
//  - around a token declared as an AddedToken object (tokenizer_config.json / special_tokens_map.json, e.g.
//    LLaMA's <s> and </s>) whitespace is stripped only per its lstrip/rstrip flags (false for LLaMA's);
//    around a token known only as a plain string (added_tokens.json entries such as [SEG], <image_patch>,
//    [PAD]) HF strips whitespace on BOTH sides (Python str.strip whitespace);
//  - every remaining non-empty piece of text is encoded by SentencePiece separately, so each one gets its
//    own dummy-prefix space ("[SEG] cat" -> [SEG] + sp("cat") = [SEG] "▁cat").
//  - BOS is prepended when asked (HF's add_bos_token), EOS appended when asked.
import { SentencePieceProcessor } from './sentencepiece.js';
import { StreamDecoder } from './stream.js';

export interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  /** A special token (skipped by decode({skipSpecial: true})). */
  special: boolean;
}

/** u-LLaVA's added tokens as published (ids 32000-32009); withLoc: the HEAD code's layout with [LOC]=32008. */
export function ullavaAddedTokens({ withLoc = false } = {}): Record<string, number> {
  const names = ['[PAD]', '<image_patch>', '<video_patch>', '<img_beg>', '</img_end>', '<vid_beg>', '</vid_end>', '[SEG]',
    ...(withLoc ? ['[LOC]'] : []), '[tag]', '[/tag]'];
  return Object.fromEntries(names.map((n, i) => [n, 32000 + i]));
}

// Python's str.isspace() set, used by str.lstrip()/rstrip() in HF's tokenize().
const PY_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
export function pyLstrip(s: string): string { let i = 0; while (i < s.length && PY_SPACE.includes(s[i])) i++; return s.slice(i); }
export function pyRstrip(s: string): string { let i = s.length; while (i > 0 && PY_SPACE.includes(s[i - 1])) i--; return s.slice(0, i); }

export interface EncodeOptions { bos?: boolean; eos?: boolean }

export class LlamaTokenizer {
  private byContent = new Map<string, AddedToken>();
  private byId = new Map<number, AddedToken>();
  private splitter: RegExp | null;
  readonly vocabSize: number;

  /**
   * matchSpecial: cut the text at added/special tokens (HF behaviour). false: plain SentencePiece, where
   * "</s>" in the text is just characters.
   */
  constructor(readonly sp: SentencePieceProcessor, added: AddedToken[] = [], readonly matchSpecial = true) {
    for (const t of added) {
      if (!t.content) continue;
      this.byContent.set(t.content, t);
      this.byId.set(t.id, t);
    }
    this.vocabSize = Math.max(sp.vocabSize, ...[...this.byId.keys()].map((i) => i + 1));
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    this.splitter = matchSpecial && contents.length
      ? new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g') : null;
  }

  get bosId(): number { return this.sp.bosId; }
  get eosId(): number { return this.sp.eosId; }

  /** Id of a token by content (added token or vocabulary piece). */
  tokenId(content: string): number | undefined { return this.byContent.get(content)?.id ?? this.sp.pieceToId(content); }
  addedTokens(): AddedToken[] { return [...this.byContent.values()]; }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.bos) out.push(this.bosId);
    if (!this.splitter) {
      for (const id of this.sp.encode(text)) out.push(id);
    } else {
      // cut into [text, token, text, ...] chunks; empty cuts never appear (as Trie.split)
      const chunks: { text: string; tok?: AddedToken }[] = [];
      let last = 0;
      this.splitter.lastIndex = 0;
      for (let m = this.splitter.exec(text); m; m = this.splitter.exec(text)) {
        if (m.index > last) chunks.push({ text: text.slice(last, m.index) });
        chunks.push({ text: m[0], tok: this.byContent.get(m[0])! });
        last = m.index + m[0].length;
      }
      if (last < text.length) chunks.push({ text: text.slice(last) });
      for (let i = 0; i < chunks.length; i++) {
        const t = chunks[i].tok;
        if (!t) continue;
        const left = chunks[i - 1], right = chunks[i + 1];
        if (t.rstrip && right && right.text && !right.tok) right.text = pyLstrip(right.text);
        if (t.lstrip && left && left.text && !left.tok) left.text = pyRstrip(left.text);
      }
      for (const c of chunks) {
        if (c.tok) out.push(c.tok.id);
        else if (c.text) for (const id of this.sp.encode(c.text)) out.push(id);
      }
    }
    if (opts.eos) out.push(this.eosId);
    return out;
  }

  /** Bytes of one token in decoded text (added tokens are their content). */
  tokenBytes(id: number, atStart: boolean): Uint8Array {
    const t = this.byId.get(id);
    if (t && (id >= this.sp.vocabSize || !this.sp.isControl(id))) return new TextEncoder().encode(t.content);
    return this.sp.tokenBytes(id, atStart);
  }

  isControl(id: number): boolean { return id < this.sp.vocabSize && this.sp.isControl(id); }
  isAdded(id: number): boolean { return this.byId.has(id) && !this.isControl(id); }

  decode(ids: readonly number[], { skipSpecial = false } = {}): string {
    const d = this.streamDecoder();
    let s = '';
    for (const id of ids) {
      if (skipSpecial && (this.byId.get(id)?.special || (id < this.sp.vocabSize && this.sp.isControl(id)))) continue;
      s += d.push(id);
    }
    return s + d.flush();
  }

  streamDecoder(): StreamDecoder { return new StreamDecoder(this); }
}
