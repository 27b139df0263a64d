// A deterministic corpus of varied strings for tokenizer parity and benchmarks: multilingual text, emoji
// (ZWJ sequences, flags, skin tones), code, numbers, whitespace runs, and u-LLaVA's conversation templates.
import { rng } from '../../nn/io/fixtures.js';

const WORDS = 'the a of and to in is you that it he was for on are as with his they I at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part segment mask image video object person left right cat dog giraffe'.split(' ');
const CJK = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切论かなカナ한국어'.split('');
const CYRILLIC = 'привет мир как дела хорошо спасибо сегодня завтра москва россия человек время работа жизнь'.split(' ');
const ARABIC = 'مرحبا بالعالم كيف حالك شكرا اليوم غدا القاهرة إنسان وقت عمل حياة'.split(' ');
const DEVANAGARI = 'नमस्ते दुनिया आप कैसे हैं धन्यवाद आज कल भारत मनुष्य समय काम जीवन'.split(' ');
const EMOJI = ['😀', '😂', '🥲', '👍', '👍🏽', '❤️', '🔥', '🎉', '🐈', '🦒', '🇫🇷', '🇯🇵', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '🧑‍🚀', '✨', '☕', '©', '™', '½', '€', '→', '∑', '√', '∞'];
const CODE = ['def f(x):\n    return x ** 2', 'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}', 'import torch\nimport numpy as np', 'SELECT * FROM users WHERE id = 42;',
  '#include <stdio.h>\nint main() { printf("hi\\n"); }', '<div class="x">&nbsp;</div>', 'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }', '$ ls -la | grep "\\.ts$"', '{"key": [1, 2.5, null, true]}', 'x = [i*i for i in range(10)]  # squares'];
const PUNCT = ['.', ',', '!', '?', ';', ':', '-', '—', '...', '"', "'", '(', ')', '[', ']', '{', '}', '/', '\\', '@', '#', '%', '&', '*', '+', '=', '<', '>', '|', '~', '`', '^', '_'];
const SPACES = [' ', '  ', '   ', '    ', '\t', '\n', '\n\n', '\r\n', ' \n ', '\t\t', '        ', '\u00a0', '\u3000', '\u2003'];
export const SYSTEM = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";
export const ULLAVA_SPECIALS = ['[PAD]', '<image_patch>', '<video_patch>', '<img_beg>', '</img_end>', '<vid_beg>', '</vid_end>', '[SEG]', '[tag]', '[/tag]'];

function pick<T>(r: () => number, a: readonly T[]): T { return a[Math.floor(r() * a.length)]; }

function randomCodepoints(r: () => number): string {
  let s = '';
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const range = pick(r, [[0x20, 0x7f], [0xa0, 0x250], [0x370, 0x530], [0x590, 0x700], [0x900, 0x980], [0x3040, 0x3100], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x1f300, 0x1faff], [0x10000, 0x2ffff], [0xe000, 0xf8ff], [0x1, 0x20]]);
    const cp = range[0] + Math.floor(r() * (range[1] - range[0]));
    s += String.fromCodePoint(cp);
  }
  return s;
}

function sentence(r: () => number, maxTokens = 14): string {
  const n = 1 + Math.floor(r() * maxTokens);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r();
    const sep = r() < 0.85 ? ' ' : pick(r, SPACES);
    let w: string;
    if (k < 0.45) w = pick(r, WORDS);
    else if (k < 0.5) w = pick(r, WORDS).toUpperCase();
    else if (k < 0.55) { w = pick(r, WORDS); w = w[0].toUpperCase() + w.slice(1); }
    else if (k < 0.63) w = Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(r, CJK)).join('');
    else if (k < 0.67) w = pick(r, CYRILLIC);
    else if (k < 0.7) w = pick(r, ARABIC);
    else if (k < 0.73) w = pick(r, DEVANAGARI);
    else if (k < 0.79) w = pick(r, EMOJI) + (r() < 0.3 ? pick(r, EMOJI) : '');
    else if (k < 0.86) w = String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 8)))) + (r() < 0.3 ? '.' + Math.floor(r() * 1000) : '');
    else if (k < 0.94) w = pick(r, PUNCT);
    else w = pick(r, WORDS) + pick(r, PUNCT);
    s += (i ? sep : '') + w;
  }
  return s;
}

function conversation(r: () => number, specials: boolean): string {
  const img = specials ? `<img_beg>${'<image_patch>'.repeat(1 + Math.floor(r() * 4))}</img_end>` : '';
  const turns = 1 + Math.floor(r() * 3);
  let s = SYSTEM + ' ';
  for (let t = 0; t < turns; t++) {
    s += `USER: ${t === 0 ? '<image>\n' : ''}${sentence(r, 10)}${t === 0 ? img : ''} ASSISTANT:`;
    if (t < turns - 1 || r() < 0.5) {
      const ans = specials && r() < 0.5 ? `Sure. Info: [SEG]; [tag]${pick(r, WORDS)}[/tag].` : sentence(r, 12);
      s += ` ${ans}</s>`;
    }
  }
  if (r() < 0.2) s = `### Human: ${sentence(r)}\n### Assistant: ${sentence(r)}\n###`;
  return s;
}

/** Strings without u-LLaVA's added tokens (they may contain </s>, <s>, <image> as plain text). */
export function plainCorpus(n: number, seed = 1): string[] {
  const r = rng(seed);
  const out: string[] = ['', ' ', '  ', '\n', '\t', 'a', ' a', 'a ', '  leading and trailing  ', '\n\nnewlines\n\n', SYSTEM, 'USER: <image>\nWhat is in the image? ASSISTANT:'];
  while (out.length < n) {
    const k = r();
    let s: string;
    if (k < 0.45) s = sentence(r);
    else if (k < 0.6) s = conversation(r, false);
    else if (k < 0.72) s = pick(r, CODE) + (r() < 0.5 ? '\n' + sentence(r, 5) : '');
    else if (k < 0.84) s = randomCodepoints(r);
    else if (k < 0.92) s = pick(r, SPACES).repeat(1 + Math.floor(r() * 4)) + sentence(r, 5) + pick(r, SPACES).repeat(Math.floor(r() * 4));
    else s = Array.from({ length: 1 + Math.floor(r() * 5) }, () => sentence(r, 6)).join(pick(r, SPACES));
    out.push(s);
  }
  return out;
}

/** Strings with u-LLaVA's special tokens in varied whitespace contexts. */
export function specialCorpus(n: number, seed = 2): string[] {
  const r = rng(seed);
  const out: string[] = ['[SEG]', ' [SEG] ', '[SEG][tag]cat[/tag]', 'Sure. Info: [SEG]; [tag]giraffe[/tag].', '</s>', 'a</s>b', '<s>USER: hi</s>', '<unk>'];
  while (out.length < n) {
    if (r() < 0.5) { out.push(conversation(r, true)); continue; }
    const parts: string[] = [];
    const m = 1 + Math.floor(r() * 6);
    for (let i = 0; i < m; i++) {
      parts.push(r() < 0.5 ? pick(r, [...ULLAVA_SPECIALS, '</s>', '<s>']) : sentence(r, 5));
      if (r() < 0.5) parts.push(pick(r, SPACES));
    }
    out.push(parts.join(r() < 0.5 ? '' : ' '));
  }
  return out;
}
