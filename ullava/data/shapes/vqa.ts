// Visual questions about a scene with short exact answers ("Red.", "Two.", "Yes.", "The blue circle."),
// so exact match is a fair metric. Each question is asked only when its answer is well defined (a
// unique referent, sizes that differ by class, a relation that clearly holds one way).
import type { Rng } from './random.js';
import type { Scene, Shape } from './scene.js';
import { holdsStrictly } from './relations.js';
import { simpleExpressions } from './referring.js';
import { capitalise, COLOUR_NAMES, NUMBER_WORDS, SHAPE_KINDS, SIZES } from './vocabulary.js';

export const VQA_TYPES = ['count', 'count_kind', 'colour', 'shape', 'size', 'exists', 'larger', 'left_right', 'above_below', 'relation_yes_no'] as const;
export type VqaType = typeof VQA_TYPES[number];
export interface Vqa { type: VqaType; question: string; answer: string }

const answer = (s: string) => `${capitalise(s)}.`;

/** Shapes that have a "the colour kind" or "the kind" name, with that name. */
function named(shapes: Shape[]): { i: number; name: string }[] {
  return shapes.flatMap((_, i) => {
    const e = simpleExpressions(shapes, i).find((x) => !x.endsWith(' shape'));
    return e ? [{ i, name: e }] : [];
  });
}

/** Every question type that has a well-defined answer in this scene, one candidate each. */
export function vqaCandidates(scene: Scene, rng: Rng): Vqa[] {
  const S = scene.shapes, out: Vqa[] = [];
  const margin = 0.08 * Math.min(scene.width, scene.height);
  out.push({ type: 'count', question: 'How many shapes are there in the image?', answer: answer(NUMBER_WORDS[S.length]) });
  const kind = rng.pick(SHAPE_KINDS);
  out.push({ type: 'count_kind', question: `How many ${kind}s are there?`, answer: answer(NUMBER_WORDS[S.filter((s) => s.kind === kind).length]) });
  const uniqKind = S.filter((s) => S.filter((o) => o.kind === s.kind).length === 1);
  if (uniqKind.length) { const s = rng.pick(uniqKind); out.push({ type: 'colour', question: `What colour is the ${s.kind}?`, answer: answer(s.colour) }); }
  const uniqColour = S.filter((s) => S.filter((o) => o.colour === s.colour).length === 1);
  if (uniqColour.length) { const s = rng.pick(uniqColour); out.push({ type: 'shape', question: `What shape is the ${s.colour} one?`, answer: answer(s.kind) }); }
  const names = named(S);
  if (names.length) {
    const n = rng.pick(names);
    out.push({ type: 'size', question: `What size is ${n.name}?`, answer: answer(S[n.i].size) });
  }
  // Existence: half the time a shape that is there, else a colour-kind pair that is not.
  const present = rng.chance(0.5);
  const absent = COLOUR_NAMES.flatMap((c) => SHAPE_KINDS.map((k) => [c, k] as const)).filter(([c, k]) => !S.some((s) => s.colour === c && s.kind === k));
  const [c, k] = present ? [rng.pick(S).colour, null] as const : rng.pick(absent);
  const ask = present ? S.find((s) => s.colour === c)! : null;
  out.push({ type: 'exists', question: `Is there ${/^[aeiou]/.test(c) ? "an" : "a"} ${c} ${ask ? ask.kind : k}?`, answer: present ? 'Yes.' : 'No.' });
  if (names.length >= 2) {
    const [a, b] = rng.shuffle([...names]).slice(0, 2);
    const sa = S[a.i], sb = S[b.i];
    if (sa.size !== sb.size) {
      const big = SIZES.indexOf(sa.size) > SIZES.indexOf(sb.size) ? a : b;
      out.push({ type: 'larger', question: `Which is larger, ${a.name} or ${b.name}?`, answer: answer(big.name) });
    }
    if (holdsStrictly('left of', sa, sb, margin) || holdsStrictly('right of', sa, sb, margin)) {
      out.push({ type: 'left_right', question: `Is ${a.name} left or right of ${b.name}?`, answer: holdsStrictly('left of', sa, sb, margin) ? 'Left.' : 'Right.' });
    }
    if (holdsStrictly('above', sa, sb, margin) || holdsStrictly('below', sa, sb, margin)) {
      out.push({ type: 'above_below', question: `Is ${a.name} above or below ${b.name}?`, answer: holdsStrictly('above', sa, sb, margin) ? 'Above.' : 'Below.' });
    }
    const rels = (['left of', 'right of', 'above', 'below'] as const).filter((r) => holdsStrictly(r, sa, sb, margin) || holdsStrictly(r, sb, sa, margin));
    if (rels.length) {
      const r = rng.pick(rels);
      out.push({ type: 'relation_yes_no', question: `Is ${a.name} ${r} ${b.name}?`, answer: holdsStrictly(r, sa, sb, margin) ? 'Yes.' : 'No.' });
    }
  }
  return out;
}
