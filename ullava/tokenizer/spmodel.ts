// The SentencePiece ModelProto (sentencepiece_model.proto), read with the fields encoding needs:
// pieces (piece, score, type), the trainer's model type / byte_fallback / special ids, and the
// normalizer spec (dummy prefix, whitespace handling, precompiled charsmap).
import { ProtoReader } from './protobuf.js';

export enum PieceType { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 }
export enum ModelType { UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4 }

export interface SentencePieceModelProto {
  pieces: { piece: string; score: number; type: PieceType }[];
  trainer: {
    modelType: ModelType; byteFallback: boolean; treatWhitespaceAsSuffix: boolean;
    unkId: number; bosId: number; eosId: number; padId: number; unkSurface: string;
  };
  normalizer: {
    name: string; precompiledCharsmap: Uint8Array; addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean; escapeWhitespaces: boolean;
  };
}

// ignoreBOM: a piece may be U+FEFF itself (LLaMA's id 30143); the default decoder would strip it to ''.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export function parseModelProto(buf: Uint8Array): SentencePieceModelProto {
  const m: SentencePieceModelProto = {
    pieces: [],
    trainer: { modelType: ModelType.UNIGRAM, byteFallback: false, treatWhitespaceAsSuffix: false, unkId: 0, bosId: 1, eosId: 2, padId: -1, unkSurface: ' \u2047 ' },
    normalizer: { name: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const r = new ProtoReader(buf);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) {
      const s = r.sub();
      const p = { piece: '', score: 0, type: PieceType.NORMAL };
      while (!s.done) {
        const t = s.tag();
        if (t.field === 1 && t.wire === 2) p.piece = utf8.decode(s.bytes());
        else if (t.field === 2 && t.wire === 5) p.score = s.float32();
        else if (t.field === 3 && t.wire === 0) p.type = s.varint();
        else s.skip(t.wire);
      }
      m.pieces.push(p);
    } else if (field === 2 && wire === 2) {
      const s = r.sub();
      while (!s.done) {
        const t = s.tag();
        if (t.wire === 0 && [3, 24, 35, 40, 41, 42, 43].includes(t.field)) {
          const v = s.int32();
          switch (t.field) {
            case 3: m.trainer.modelType = v; break;
            case 24: m.trainer.treatWhitespaceAsSuffix = v !== 0; break;
            case 35: m.trainer.byteFallback = v !== 0; break;
            case 40: m.trainer.unkId = v; break;
            case 41: m.trainer.bosId = v; break;
            case 42: m.trainer.eosId = v; break;
            case 43: m.trainer.padId = v; break;
          }
        } else if (t.field === 44 && t.wire === 2) m.trainer.unkSurface = utf8.decode(s.bytes());
        else s.skip(t.wire);
      }
    } else if (field === 3 && wire === 2) {
      const s = r.sub();
      while (!s.done) {
        const t = s.tag();
        if (t.field === 1 && t.wire === 2) m.normalizer.name = utf8.decode(s.bytes());
        else if (t.field === 2 && t.wire === 2) m.normalizer.precompiledCharsmap = s.bytes();
        else if (t.field === 3 && t.wire === 0) m.normalizer.addDummyPrefix = s.varint() !== 0;
        else if (t.field === 4 && t.wire === 0) m.normalizer.removeExtraWhitespaces = s.varint() !== 0;
        else if (t.field === 5 && t.wire === 0) m.normalizer.escapeWhitespaces = s.varint() !== 0;
        else s.skip(t.wire);
      }
    } else r.skip(wire);
  }
  if (m.pieces.length === 0) throw new Error('tokenizer.model: no pieces (not a SentencePiece model?)');
  return m;
}
