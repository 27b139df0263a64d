// The token side of the collator: a conversation in u-LLaVA's stage II template (Vicuna v1, conv_sep2) as
// ids and labels, round by round, and truncation that keeps whole rounds.
//
// Labels are LLaVA's preprocess_v1 for this template: -100 on the BOS, the system text, every "USER: ...
// ASSISTANT:" (media block included); the answer tokens and the "</s>" that ends each answer are
// supervised. Tokenising round by round gives the ids of the whole text because SentencePiece's dummy
// prefix produces the same "▁USER" / "▁Sure" pieces at these boundaries as inside the full string (the
// tests check this against the whole-string tokenisation and LLaVA's round arithmetic).
import { Conversation, imageSpan, videoSpan } from '../chat/conversation.js';
import type { LlamaTokenizer } from '../tokenizer/llama.js';
import { ManifestError, type ConversationTurn } from './manifest-types.js';

export const IGNORE_INDEX = -100;

/** What precedes the first question: nothing, an image block of `patches` tokens, or a video block of `tokens`. */
export type MediaBlock = { kind: 'image'; patches: number } | { kind: 'video'; tokens: number } | null;

export interface TokenRound { ids: number[]; labels: number[]; seg: number; loc: number }

/** The first human turn's text as the template sees it: "<video>" placeholders removed (the block goes at the end). */
function firstQuestion(text: string, media: MediaBlock): string {
  return media?.kind === 'video' ? text.split('<video>').join('').trim() : text;
}

/** Each round (a human turn and its answer) as ids and labels; round 0 carries BOS, the system text and the media block. */
export function tokenizeRounds(tok: LlamaTokenizer, turns: ConversationTurn[], media: MediaBlock): TokenRound[] {
  const rounds: TokenRound[] = [];
  for (let i = 0; i + 1 < turns.length; i += 2) {
    const prompt = i === 0
      ? new Conversation(media === null ? null : media.kind === 'image' ? { kind: 'image', patches: media.patches } : { kind: 'video', tokens: media.tokens })
        .user(firstQuestion(turns[0].value, media)).prompt()
      : `USER: ${turns[i].value} ASSISTANT:`;
    const p = tok.encode(prompt, { bos: i === 0 });
    const a = [...tok.encode(turns[i + 1].value), tok.eosId];
    const answer = turns[i + 1].value;
    rounds.push({ ids: [...p, ...a], labels: [...p.map(() => IGNORE_INDEX), ...a], seg: answer.split('[SEG]').length - 1, loc: answer.split('[LOC]').length - 1 });
  }
  return rounds;
}

/** The ids and labels of a whole conversation (no truncation). */
export function tokenizeConversation(tok: LlamaTokenizer, turns: ConversationTurn[], patches: number | null): { ids: number[]; labels: number[] } {
  const rounds = tokenizeRounds(tok, turns, patches === null ? null : { kind: 'image', patches });
  return { ids: rounds.flatMap((r) => r.ids), labels: rounds.flatMap((r) => r.labels) };
}

/**
 * The longest prefix of whole rounds within `maxLength` tokens: a media block or a [SEG] / [LOC] answer is
 * never cut; later rounds are dropped with their masks and boxes. A first round that does not fit is an error.
 */
export function truncateRounds(rounds: TokenRound[], maxLength: number, where: string, media: MediaBlock): { kept: TokenRound[]; dropped: number } {
  let total = 0, n = 0;
  for (const r of rounds) { if (total + r.ids.length > maxLength) break; total += r.ids.length; n++; }
  if (n === 0) {
    const block = media ? ` (${media.kind === 'image' ? media.patches + 2 : media.tokens + 2} of them the ${media.kind} block)` : '';
    throw new ManifestError(`${where}: the first round is ${rounds[0]?.ids.length ?? 0} tokens${block}, over max_length ${maxLength}; raise training.max_length or shorten the first question and answer`);
  }
  return { kept: rounds.slice(0, n), dropped: rounds.length - n };
}

export { imageSpan, videoSpan };
