// Captions of scenes: the shapes from left to right with size, colour and kind, and the background.
import type { Background, Scene, Shape } from './scene.js';
import { capitalise, NUMBER_WORDS } from './vocabulary.js';

export const phrase = (s: Shape) => `${s.size} ${s.colour} ${s.kind}`;
const article = (p: string) => (/^[aeiou]/.test(p) ? 'an' : 'a');
const withArticle = (s: Shape) => `${article(phrase(s))} ${phrase(s)}`;

export function backgroundWord(b: Background): string {
  return { plain: 'plain', hstripes: 'striped', vstripes: 'striped', dstripes: 'striped', checker: 'checkered', noise: 'speckled' }[b.pattern];
}

function listJoin(xs: string[]): string {
  return xs.length === 1 ? xs[0] : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

export function caption(scene: Scene): string {
  const byX = [...scene.shapes].sort((a, b) => a.cx - b.cx);
  const bg = ` on a ${backgroundWord(scene.background)} background`;
  if (byX.length === 1) return `${capitalise(withArticle(byX[0]))}${bg}.`;
  if (byX.length === 2) {
    const [a, b] = byX, dx = b.cx - a.cx, dy = b.cy - a.cy;
    const rel = Math.abs(dx) >= Math.abs(dy) ? 'left of' : dy > 0 ? 'above' : 'below';
    return `${capitalise(withArticle(a))} ${rel} ${withArticle(b)}${bg}.`;
  }
  return `${capitalise(NUMBER_WORDS[byX.length])} shapes${bg}, from left to right: ${listJoin(byX.map(withArticle))}.`;
}
