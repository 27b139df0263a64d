// An OpenAI message list -> u-LLaVA's conversation prompt and its one image or video. u-LLaVA talks about
// one medium per conversation (its span sits in the first user turn), so a request may carry at most one
// image or video, in any user message; system text replaces the default system prompt; the turns after it
// alternate user, assistant, ..., and end with the user's question.
import { Conversation, SYSTEM_PROMPT } from '../chat/conversation.js';
import type { LoadedUllava } from '../models/ullava/load.js';
import { badRequest } from './errors.js';
import type { ChatMessage } from './schemas.js';

export interface MediaRef { kind: 'image' | 'video'; url: string; param: string }

export interface ParsedChat {
  system: string;
  turns: { role: 'user' | 'assistant'; text: string }[];
  media: MediaRef | null;
}

export function parseMessages(messages: ChatMessage[]): ParsedChat {
  const systems: string[] = [];
  const turns: ParsedChat['turns'] = [];
  let media: MediaRef | null = null;
  messages.forEach((m, i) => {
    const param = `messages[${i}]`;
    let text: string;
    if (typeof m.content === 'string') text = m.content;
    else {
      const texts: string[] = [];
      m.content.forEach((p, j) => {
        const where = `${param}.content[${j}]`;
        if (p.type === 'text') {
          if (typeof p.text !== 'string') throw badRequest(`${where}: a text part needs "text"`, where);
          texts.push(p.text);
          return;
        }
        const ref = p.type === 'image_url' ? p.image_url : p.video_url;
        if (!ref) throw badRequest(`${where}: a ${p.type} part needs "${p.type}": { "url": "data:..." }`, where);
        if (m.role !== 'user') throw badRequest(`${where}: only user messages may carry an image or a video`, where);
        if (media) throw badRequest(`${where}: a second image or video; u-LLaVA talks about one image or one video per conversation (the first is at ${media.param})`, where, 'too_many_media');
        media = { kind: p.type === 'image_url' ? 'image' : 'video', url: ref.url, param: `${where}.${p.type}.url` };
      });
      text = texts.join('\n');
    }
    if (m.role === 'system') {
      if (turns.length) throw badRequest(`${param}: a system message must come before the conversation`, param);
      systems.push(text);
      return;
    }
    const want = turns.length % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw badRequest(`${param}: role "${m.role}" where "${want}" belongs; after any system messages the turns alternate user, assistant, user, ...`, param);
    turns.push({ role: m.role, text });
  });
  if (turns.length === 0) throw badRequest('messages: no user message to answer', 'messages');
  if (turns.length % 2 === 0) throw badRequest('messages: the last message is the assistant\'s, so there is no question to answer', 'messages');
  return { system: systems.length ? systems.join('\n') : SYSTEM_PROMPT, turns, media };
}

/** Tokens of the media span: patches for an image; frames + patches for a video (encodeVideo's layout). */
export function mediaTokens(loaded: LoadedUllava, kind: 'image' | 'video', frames: number): number {
  const v = loaded.config.vision;
  const patches = Math.floor(v.imageSize / v.patchSize) ** 2;
  return kind === 'image' ? patches : frames + patches;
}

/** The prompt's token ids and where its media span starts (-1 without media). */
export function promptIds(loaded: LoadedUllava, chat: ParsedChat, mediaKind: 'image' | 'video' | null, frames: number): { ids: number[]; spanStart: number } {
  const conv = new Conversation(mediaKind === 'image' ? { kind: 'image', patches: mediaTokens(loaded, 'image', frames) }
    : mediaKind === 'video' ? { kind: 'video', tokens: mediaTokens(loaded, 'video', frames) } : null, chat.system);
  for (const t of chat.turns) {
    if (t.role === 'user') conv.user(t.text); else conv.assistant(t.text);
  }
  const ids = loaded.tokenizer.encode(conv.prompt(), { bos: true });
  if (!mediaKind) return { ids, spanStart: -1 };
  const startId = mediaKind === 'video' ? loaded.config.tokens.videoStart : loaded.config.tokens.imageStart;
  return { ids, spanStart: ids.indexOf(startId) };
}
