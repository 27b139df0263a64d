// Referring expressions for the shapes of a scene, each checked to pick out exactly one shape:
//   simple      "the red square", "the circle", "the green shape"
//   attribute   "the large red square", "the small circle", "the largest star", "the smallest shape"
//   relational  "the shape right of the green star", "the circle above the red square"
import type { Scene, Shape } from './scene.js';
import { RELATIONS, holdsLoosely, holdsStrictly } from './relations.js';
import { SIZES } from './vocabulary.js';

export type ExpressionType = 'simple' | 'attribute' | 'relational';
export interface Expression { target: number; text: string; type: ExpressionType }

const sizeRank = (s: Shape) => SIZES.indexOf(s.size);

function unique(shapes: Shape[], keep: (s: Shape) => boolean): number {
  const hits = shapes.flatMap((s, i) => (keep(s) ? [i] : []));
  return hits.length === 1 ? hits[0] : -1;
}

/** The simple expressions that pick out shape i, shortest first. */
export function simpleExpressions(shapes: Shape[], i: number): string[] {
  const t = shapes[i], out: string[] = [];
  if (unique(shapes, (s) => s.kind === t.kind) === i) out.push(`the ${t.kind}`);
  if (unique(shapes, (s) => s.colour === t.colour && s.kind === t.kind) === i) out.push(`the ${t.colour} ${t.kind}`);
  if (unique(shapes, (s) => s.colour === t.colour) === i) out.push(`the ${t.colour} shape`);
  return out;
}

/** Expressions that need a size word to pick out shape i. */
export function attributeExpressions(shapes: Shape[], i: number): string[] {
  const t = shapes[i], out: string[] = [];
  const sameKind = shapes.filter((s) => s.kind === t.kind);
  if (sameKind.length >= 2) {
    if (unique(shapes, (s) => s.kind === t.kind && s.size === t.size) === i) out.push(`the ${t.size} ${t.kind}`);
    const others = sameKind.filter((s) => s !== t);
    if (others.every((s) => sizeRank(s) < sizeRank(t))) out.push(`the largest ${t.kind}`);
    if (others.every((s) => sizeRank(s) > sizeRank(t))) out.push(`the smallest ${t.kind}`);
  }
  const sameCK = shapes.filter((s) => s.kind === t.kind && s.colour === t.colour);
  if (sameCK.length >= 2 && unique(shapes, (s) => s.kind === t.kind && s.colour === t.colour && s.size === t.size) === i) {
    out.push(`the ${t.size} ${t.colour} ${t.kind}`);
  }
  if (shapes.length >= 3) {
    const others = shapes.filter((s) => s !== t);
    if (others.every((s) => sizeRank(s) < sizeRank(t))) out.push('the largest shape');
    if (others.every((s) => sizeRank(s) > sizeRank(t))) out.push('the smallest shape');
  }
  return out;
}

/** "the {head} {relation} {anchor}" for shape i, where the anchor has a simple expression of its own. */
export function relationalExpressions(scene: Scene, i: number): string[] {
  const shapes = scene.shapes, t = shapes[i], out: string[] = [];
  const margin = 0.08 * Math.min(scene.width, scene.height);
  shapes.forEach((a, ai) => {
    if (ai === i) return;
    const anchor = simpleExpressions(shapes, ai).find((e) => !e.endsWith(' shape')) ?? simpleExpressions(shapes, ai)[0];
    if (!anchor) return;
    for (const rel of RELATIONS) {
      if (!holdsStrictly(rel, t, a, margin)) continue;
      // Every shape a reader could take as "rel the anchor": the expression's head must match only the target among them.
      const readable = shapes.filter((s, si) => si !== ai && holdsLoosely(rel, s, a));
      const heads: [string, (s: Shape) => boolean][] = [
        ['shape', () => true], [t.kind, (s) => s.kind === t.kind], [`${t.colour} ${t.kind}`, (s) => s.kind === t.kind && s.colour === t.colour],
      ];
      const head = heads.find(([, keep]) => readable.filter(keep).length === 1);
      if (head) out.push(`the ${head[0]} ${rel} ${anchor}`);
    }
  });
  return out;
}

export function expressionsFor(scene: Scene, i: number): Expression[] {
  return [
    ...simpleExpressions(scene.shapes, i).map((text) => ({ target: i, text, type: 'simple' as const })),
    ...attributeExpressions(scene.shapes, i).map((text) => ({ target: i, text, type: 'attribute' as const })),
    ...relationalExpressions(scene, i).map((text) => ({ target: i, text, type: 'relational' as const })),
  ];
}
