// SentencePiece BPE encoding and decoding, following the library's algorithm so that ids are identical:
//  1. normalize: (identity rules) optional removal of extra spaces, a dummy-prefix space, spaces -> U+2581;
//  2. split into characters (user-defined symbols matched first, longest first);
//  3. repeatedly merge the adjacent pair whose concatenation is a vocabulary piece with the highest score,
//     ties going to the leftmost pair;
//  4. pieces outside the vocabulary become <0xNN> byte pieces (byte fallback) or <unk>.
import { parseModelProto, ModelType, PieceType, type SentencePieceModelProto } from './spmodel.js';

const SPACE = '\u2581';
const enc = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Max-heap of candidate merges ordered by (score desc, left asc), in parallel arrays. */
class MergeHeap {
  score = new Float64Array(64); left = new Int32Array(64); right = new Int32Array(64); len = new Int32Array(64);
  n = 0;
  private above(i: number, j: number): boolean {
    return this.score[i] > this.score[j] || (this.score[i] === this.score[j] && this.left[i] < this.left[j]);
  }
  private swap(i: number, j: number): void {
    let t = this.score[i]; this.score[i] = this.score[j]; this.score[j] = t;
    t = this.left[i]; this.left[i] = this.left[j]; this.left[j] = t;
    t = this.right[i]; this.right[i] = this.right[j]; this.right[j] = t;
    t = this.len[i]; this.len[i] = this.len[j]; this.len[j] = t;
  }
  push(score: number, left: number, right: number, len: number): void {
    if (this.n === this.score.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => { const b = new (a.constructor as new (n: number) => T)(a.length * 2); b.set(a); return b; };
      this.score = grow(this.score); this.left = grow(this.left); this.right = grow(this.right); this.len = grow(this.len);
    }
    let i = this.n++;
    this.score[i] = score; this.left[i] = left; this.right[i] = right; this.len[i] = len;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.above(i, p)) break; this.swap(i, p); i = p; }
  }
  /** Removes the top into slot `n` (read it from the arrays at index this.n after the call). */
  pop(): void {
    const last = --this.n;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.above(l, m)) m = l;
      if (r < last && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m); i = m;
    }
  }
}

export class SentencePieceProcessor {
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Pieces merges may produce: NORMAL, USER_DEFINED and UNUSED (as SentencePiece's own map). */
  private mergeable = new Map<string, number>();
  private all = new Map<string, number>();
  private byteIds = new Int32Array(256).fill(-1);
  private userDefined: string[] = [];
  private revMerge = new Map<string, [string, string]>();
  private hasUnused: boolean;
  /** True when no piece has U+2581 after another character: then text splits before each space run exactly. */
  private splitWords: boolean;
  private cache = new Map<string, number[]>();
  private heap = new MergeHeap();

  constructor(readonly model: SentencePieceModelProto) {
    if (model.trainer.modelType !== ModelType.BPE) {
      throw new Error(`tokenizer.model: model type ${ModelType[model.trainer.modelType] ?? model.trainer.modelType} is not supported (only BPE, as LLaMA uses)`);
    }
    const { precompiledCharsmap, name } = model.normalizer;
    if (precompiledCharsmap.length > 0) {
      throw new Error(`tokenizer.model: normalizer "${name}" with a precompiled charsmap is not supported (LLaMA's is "identity")`);
    }
    const n = model.pieces.length;
    this.pieces = model.pieces.map((p) => p.piece);
    this.scores = Float32Array.from(model.pieces, (p) => p.score);
    this.types = Uint8Array.from(model.pieces, (p) => p.type);
    let splitWords = true;
    for (let i = 0; i < n; i++) {
      const { piece, type } = model.pieces[i];
      if (!this.all.has(piece)) this.all.set(piece, i);
      if (type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED) {
        if (!this.mergeable.has(piece)) this.mergeable.set(piece, i);
        if (/[^\u2581]\u2581/.test(piece)) splitWords = false;
      }
      if (type === PieceType.USER_DEFINED) this.userDefined.push(piece);
      if (type === PieceType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
        if (m) this.byteIds[parseInt(m[1], 16)] = i;
      }
    }
    this.userDefined.sort((a, b) => b.length - a.length);
    if (this.userDefined.some((u) => u.includes(SPACE))) splitWords = false;
    this.splitWords = splitWords && !model.trainer.treatWhitespaceAsSuffix;
    this.hasUnused = model.pieces.some((p) => p.type === PieceType.UNUSED);
    this.unkId = model.trainer.unkId;
    this.bosId = model.trainer.bosId;
    this.eosId = model.trainer.eosId;
    this.padId = model.trainer.padId;
    if (model.trainer.byteFallback && this.byteIds.some((x) => x < 0)) throw new Error('tokenizer.model: byte_fallback is set but <0xNN> pieces are missing');
  }

  static fromBytes(buf: Uint8Array): SentencePieceProcessor { return new SentencePieceProcessor(parseModelProto(buf)); }

  get vocabSize(): number { return this.pieces.length; }
  idToPiece(id: number): string | undefined { return this.pieces[id]; }
  pieceToId(piece: string): number | undefined { return this.all.get(piece); }
  isControl(id: number): boolean { return this.types[id] === PieceType.CONTROL; }
  isByte(id: number): boolean { return this.types[id] === PieceType.BYTE; }

  /** The normalizer: identity rules plus SentencePiece's whitespace handling. */
  normalize(text: string): string {
    const ns = this.model.normalizer;
    // Lone surrogates cannot be UTF-8: they become U+FFFD, as the UTF-8 encoding of the input would give.
    let s = /[\uD800-\uDFFF]/.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
    if (ns.removeExtraWhitespaces) s = s.replace(/ +/g, ' ').replace(/^ | $/g, '');
    if (s.length === 0) return '';
    if (ns.addDummyPrefix) s = this.model.trainer.treatWhitespaceAsSuffix ? s + ' ' : ' ' + s;
    if (ns.escapeWhitespaces) s = s.replaceAll(' ', SPACE);
    return s;
  }

  /** Ids of `text` (no BOS/EOS), exactly as SentencePieceProcessor.EncodeAsIds. */
  encode(text: string): number[] {
    const s = this.normalize(text);
    if (!s) return [];
    if (!this.splitWords) return this.bpe(s);
    const out: number[] = [];
    let start = 0;
    for (let i = 1; i <= s.length; i++) {
      if (i === s.length || (s.charCodeAt(i) === 0x2581 && s.charCodeAt(i - 1) !== 0x2581)) {
        const word = s.slice(start, i);
        let ids = this.cache.get(word);
        if (!ids) {
          ids = this.bpe(word);
          if (this.cache.size > 200_000) this.cache.clear();
          this.cache.set(word, ids);
        }
        for (const id of ids) out.push(id);
        start = i;
      }
    }
    return out;
  }

  /** Pieces of `text` as strings (for debugging and tests). */
  encodePieces(text: string): string[] { return this.encode(text).map((i) => this.pieces[i]); }

  private bpe(s: string): number[] {
    // 2. characters (code points), user-defined symbols first
    const starts: number[] = [], ends: number[] = [];
    for (let i = 0; i < s.length;) {
      let len = 0;
      for (const u of this.userDefined) if (s.startsWith(u, i)) { len = u.length; break; }
      if (!len) {
        const c = s.charCodeAt(i);
        len = c >= 0xd800 && c < 0xdc00 && i + 1 < s.length ? 2 : 1;
      }
      starts.push(i); ends.push(i + len); i += len;
    }
    const n = starts.length;
    const end = Int32Array.from(ends), next = new Int32Array(n), prev = new Int32Array(n);
    const start = Int32Array.from(starts);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    const heap = this.heap;
    heap.n = 0;
    const tryPair = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const id = this.mergeable.get(s.slice(start[l], end[r]));
      if (id !== undefined) heap.push(this.scores[id], l, r, end[r] - start[l]);
    };
    for (let i = 0; i + 1 < n; i++) tryPair(i, i + 1);
    // 3. merges
    while (heap.n > 0) {
      heap.pop();
      const k = heap.n, l = heap.left[k], r = heap.right[k];
      if (!alive[l] || !alive[r] || next[l] !== r || end[r] - start[l] !== heap.len[k]) continue; // stale
      if (this.hasUnused) this.revMerge.set(s.slice(start[l], end[r]), [s.slice(start[l], end[l]), s.slice(start[r], end[r])]);
      end[l] = end[r];
      alive[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      tryPair(prev[l], l);
      tryPair(l, next[l]);
    }
    // 4. ids, with byte fallback
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) this.emit(s.slice(start[i], end[i]), out);
    return out;
  }

  private emit(piece: string, out: number[]): void {
    const id = this.mergeable.get(piece);
    if (id !== undefined) {
      if (this.types[id] === PieceType.UNUSED) {
        const split = this.revMerge.get(piece);
        if (split) { this.emit(split[0], out); this.emit(split[1], out); return; }
      } else { out.push(id); return; }
    }
    if (this.model.trainer.byteFallback) { for (const b of enc.encode(piece)) out.push(this.byteIds[b]); return; }
    out.push(this.unkId);
  }

  /**
   * Bytes a token contributes to decoded text. `atStart`: nothing has been output yet, so the dummy-prefix
   * space is dropped (as SentencePiece's decoder does for the first piece).
   */
  tokenBytes(id: number, atStart: boolean): Uint8Array {
    const t = this.types[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (${this.pieces.length})`);
    if (t === PieceType.CONTROL) return new Uint8Array(0);
    if (t === PieceType.UNKNOWN) return enc.encode(this.model.trainer.unkSurface);
    if (t === PieceType.BYTE) { const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(this.pieces[id]); return Uint8Array.of(m ? parseInt(m[1], 16) : 0); }
    let p = this.pieces[id];
    if (atStart && p.startsWith(SPACE) && (this.model.normalizer.addDummyPrefix || this.model.normalizer.removeExtraWhitespaces)) p = p.slice(1);
    return enc.encode(p.replaceAll(SPACE, ' '));
  }
}
